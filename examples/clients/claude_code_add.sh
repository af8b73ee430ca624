#!/bin/sh
# Claude Code: register the server for this project, only for you (add --scope project to write .mcp.json instead).
claude mcp add --transport stdio healthomics-ecr --env AWS_PROFILE=your-profile -- healthomics-ecr-mcp --region us-east-1
