//! stdio for the MCP server, with the two things rmcp's own stdio transport leaves out.
//!
//! - A line that is not JSON gets a JSON-RPC `-32700` parse error (with the request's id when
//!   it can be recovered from the broken text) instead of silence, so a client never waits for
//!   an answer that will not come. rmcp drops such lines without a word.
//! - When stdout breaks (the client went away, EPIPE), the server stops: requests it can no
//!   longer answer must not go on writing the account.
//!
//! rmcp reads and writes in-memory pipes; the tasks here move whole lines between those pipes
//! and the real stdin/stdout, so protocol messages and parse errors never interleave.

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Lines longer than this are refused with a parse error rather than buffered without bound.
pub const MAX_MESSAGE_BYTES: usize = 16 * 1024 * 1024;
const PIPE_BYTES: usize = 1 << 16;

/// The two pipe ends rmcp serves on: it reads requests from the first and writes to the second.
pub type ServerPipes = (tokio::io::DuplexStream, tokio::io::DuplexStream);

/// The pipes for rmcp, and the task that writes stdout: await it after the service ends so the
/// last answers are written before the process exits.
pub struct Stdio {
    pub pipes: ServerPipes,
    pub output_done: tokio::task::JoinHandle<()>,
}

/// Starts moving lines between the process's stdin/stdout and the returned pipes. `shutdown` is
/// cancelled when stdout can no longer be written.
pub fn stdio(shutdown: CancellationToken) -> Stdio {
    pipes(tokio::io::stdin(), tokio::io::stdout(), shutdown)
}

/// [`stdio`] over any reader and writer (tests use in-memory ones).
pub fn pipes<R, W>(input: R, output: W, shutdown: CancellationToken) -> Stdio
where
    R: AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let (server_in, feeder) = tokio::io::duplex(PIPE_BYTES);
    let (server_out, drain) = tokio::io::duplex(PIPE_BYTES);
    let (errors_tx, errors_rx) = mpsc::channel::<String>(64);
    tokio::spawn(forward_input(input, feeder, errors_tx));
    let output_done = tokio::spawn(forward_output(drain, errors_rx, output, shutdown));
    Stdio {
        pipes: (server_in, server_out),
        output_done,
    }
}

/// Reads stdin line by line: JSON goes on to rmcp, anything else is answered with a parse error.
async fn forward_input<R, W>(input: R, mut feeder: W, errors: mpsc::Sender<String>)
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut reader = BufReader::new(input);
    let mut line = Vec::new();
    loop {
        line.clear();
        let read = (&mut reader)
            .take(MAX_MESSAGE_BYTES as u64 + 1)
            .read_until(b'\n', &mut line)
            .await;
        match read {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        if line.len() > MAX_MESSAGE_BYTES && line.last() != Some(&b'\n') {
            let _ = errors
                .send(parse_error(&line, "the message is too large"))
                .await;
            if skip_rest_of_line(&mut reader).await.is_err() {
                break;
            }
            continue;
        }
        let text = line.trim_ascii();
        if text.is_empty() {
            continue;
        }
        match serde_json::from_slice::<Value>(text) {
            Ok(_) => {
                if feeder.write_all(text).await.is_err() || feeder.write_all(b"\n").await.is_err() {
                    break;
                }
            }
            Err(err) => {
                tracing::warn!("unparseable line on stdin: {err}");
                let _ = errors.send(parse_error(text, &err.to_string())).await;
            }
        }
    }
    // stdin closed: rmcp sees the end of its input and stops.
    let _ = feeder.shutdown().await;
}

async fn skip_rest_of_line<R: AsyncRead + Unpin>(reader: &mut BufReader<R>) -> std::io::Result<()> {
    loop {
        let buffer = reader.fill_buf().await?;
        if buffer.is_empty() {
            return Ok(());
        }
        match buffer.iter().position(|&b| b == b'\n') {
            Some(at) => {
                reader.consume(at + 1);
                return Ok(());
            }
            None => {
                let len = buffer.len();
                reader.consume(len);
            }
        }
    }
}

/// Writes whole lines from rmcp and parse errors to stdout; a failed write stops the server.
async fn forward_output<R, W>(
    drain: R,
    mut errors: mpsc::Receiver<String>,
    mut output: W,
    shutdown: CancellationToken,
) where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut from_server = BufReader::new(drain);
    let mut line = Vec::new();
    let mut server_open = true;
    loop {
        let message = tokio::select! {
            read = from_server.read_until(b'\n', &mut line), if server_open => match read {
                Ok(0) | Err(_) => {
                    server_open = false;
                    continue;
                }
                Ok(_) => std::mem::take(&mut line),
            },
            error = errors.recv() => match error {
                Some(text) => format!("{text}\n").into_bytes(),
                None if server_open => continue,
                None => break,
            },
            else => break,
        };
        let written = async {
            output.write_all(&message).await?;
            output.flush().await
        };
        if let Err(err) = written.await {
            tracing::warn!("stdout is closed ({err}); stopping the server");
            shutdown.cancel();
            break;
        }
    }
}

/// A JSON-RPC parse error for `text`, answering its `id` when the broken text still shows one.
fn parse_error(text: &[u8], why: &str) -> String {
    let id = recover_id(text).unwrap_or(Value::Null);
    json!({
        "jsonrpc": "2.0",
        "id": id,
        "error": { "code": -32700, "message": format!("Parse error: {why}") },
    })
    .to_string()
}

/// The value of the first `"id":` in the text if it is a number or a simple string.
fn recover_id(text: &[u8]) -> Option<Value> {
    let text = std::str::from_utf8(text.get(..text.len().min(4096))?).ok()?;
    let after = text
        .split_once("\"id\"")?
        .1
        .trim_start()
        .strip_prefix(':')?;
    let after = after.trim_start();
    if let Some(rest) = after.strip_prefix('"') {
        let end = rest.find(['"', '\\'])?;
        return (rest.as_bytes().get(end) == Some(&b'"')).then(|| Value::from(&rest[..end]));
    }
    let digits: String = after
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '-')
        .collect();
    digits.parse::<i64>().ok().map(Value::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_recovered_from_broken_text() {
        let table: [(&str, Option<Value>); 6] = [
            (
                r#"{"jsonrpc":"2.0","id":7,"method":"tools/list""#,
                Some(json!(7)),
            ),
            (r#"{"id": "abc", "method": }"#, Some(json!("abc"))),
            (r#"{"method":"x", "id" : -3,"#, Some(json!(-3))),
            (r#"not json at all"#, None),
            (r#"{"id": {"nested": 1}}"#, None),
            (r#"{"id": "unterminated"#, None),
        ];
        for (text, want) in table {
            assert_eq!(recover_id(text.as_bytes()), want, "{text}");
        }
    }

    #[tokio::test]
    async fn bad_lines_get_parse_errors_and_good_lines_pass_through() {
        let (client, server_stdin) = tokio::io::duplex(PIPE_BYTES);
        let (server_stdout, mut client_reader) = tokio::io::duplex(PIPE_BYTES);
        let (mut rmcp_in, mut rmcp_out) =
            pipes(server_stdin, server_stdout, CancellationToken::new()).pipes;
        let mut client = client;
        client
            .write_all(b"{\"id\":5,\"oops\n\n{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"ping\"}\n")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        // The good line reaches rmcp's side unchanged.
        let mut got = vec![0u8; 64];
        let n = rmcp_in
            .read(&mut got)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            &got[..n],
            b"{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"ping\"}\n"
        );
        // The bad one is answered on stdout, with its id.
        let mut reader = BufReader::new(&mut client_reader);
        let mut answer = String::new();
        reader
            .read_line(&mut answer)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let answer: Value = serde_json::from_str(&answer).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(answer["id"], 5);
        assert_eq!(answer["error"]["code"], -32700);
        // rmcp's own output goes out whole.
        rmcp_out
            .write_all(b"{\"jsonrpc\":\"2.0\",\"id\":6,\"result\":{}}\n")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let mut line = String::new();
        reader
            .read_line(&mut line)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(line, "{\"jsonrpc\":\"2.0\",\"id\":6,\"result\":{}}\n");
    }

    #[tokio::test]
    async fn a_closed_stdout_shuts_the_server_down() {
        let (_client, server_stdin) = tokio::io::duplex(PIPE_BYTES);
        let (server_stdout, client_reader) = tokio::io::duplex(16);
        drop(client_reader);
        let shutdown = CancellationToken::new();
        let (_rmcp_in, mut rmcp_out) = pipes(server_stdin, server_stdout, shutdown.clone()).pipes;
        let _ = rmcp_out
            .write_all(b"{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}\n")
            .await;
        let stopped = tokio::time::timeout(std::time::Duration::from_secs(5), shutdown.cancelled());
        assert!(stopped.await.is_ok());
    }
}
