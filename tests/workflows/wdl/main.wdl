version 1.0

# Germline alignment: align and sort reads, then checksum and QC the BAM.
import "tasks/align.wdl" as align

workflow germline_align {
  input {
    File reads_r1
    File reads_r2
    File reference
    # Callers may override the samtools image for every sort.
    String samtools_docker = "quay.io/biocontainers/samtools:1.19.2--h50ea8bc_1"
  }

  call align.BwaMem as bwa {
    input:
      r1 = reads_r1,
      r2 = reads_r2,
      reference = reference
  }

  call align.SortBam {
    input:
      bam = bwa.bam,
      docker_image = samtools_docker
  }

  call align.Fastp { input: r1 = reads_r1, r2 = reads_r2 }

  call Checksum { input: file = SortBam.sorted }

  output {
    File sorted_bam = SortBam.sorted
    String checksum = Checksum.sum
  }
}

task Checksum {
  input {
    File file
  }
  command <<<
    set -euo pipefail
    # Shell braces and quotes here are not WDL: { "docker": "not-an-image" }
    sha256sum '~{file}' | awk '{print $1}' > checksum.txt
  >>>
  output {
    String sum = read_string("checksum.txt")
  }
  runtime {
    docker: "ubuntu:22.04"
    cpu: 1
    memory: "2 GiB"
  }
}
