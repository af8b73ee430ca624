version 1.1

task BwaMem {
  input {
    File r1
    File r2
    File reference
    Int threads = 8
    String bwa_version = "0.7.17"
  }
  command <<<
    bwa mem -t ~{threads} '~{reference}' '~{r1}' '~{r2}' > aligned.sam
  >>>
  output {
    File bam = "aligned.sam"
  }
  runtime {
    container: "quay.io/biocontainers/bwa:~{bwa_version}--h5bf99c6_8"
    cpu: threads
    memory: "16 GiB"
  }
}

task SortBam {
  input {
    File bam
    # The workflow passes its own samtools_docker, which wins over this default.
    String docker_image = "quay.io/biocontainers/samtools:1.17--h00cdaf9_0"
  }
  command {
    samtools sort -o sorted.bam ${bam}
  }
  output {
    File sorted = "sorted.bam"
  }
  runtime {
    docker: docker_image
    cpu: 4
  }
}

task Fastp {
  input {
    File r1
    File r2
  }
  command <<<
    fastp -i '~{r1}' -I '~{r2}' -o trimmed_1.fq.gz -O trimmed_2.fq.gz
  >>>
  output {
    File trimmed_r1 = "trimmed_1.fq.gz"
  }
  runtime {
    # Candidates in order; the Seqera Containers image is pinned by digest.
    docker: [
      "community.wave.seqera.io/library/fastp:0.23.4--f8cefc1e5f7a782e@sha256:6a4a087328f6df19a423c0fe00cabcfc6d5f237a2c0e435fd90109fb65dacd02",
      "quay.io/biocontainers/fastp:0.23.4--hadf994f_2"
    ]
  }
}

task MultiQc {
  input {
    Array[File] reports
    String multiqc_image
  }
  command <<<
    multiqc ~{sep=" " reports}
  >>>
  runtime {
    docker: multiqc_image
  }
}
