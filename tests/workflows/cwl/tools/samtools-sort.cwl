cwlVersion: v1.2
class: CommandLineTool
label: Sort a SAM/BAM file
baseCommand: [samtools, sort]

hints:
  DockerRequirement:
    dockerPull: "community.wave.seqera.io/library/htslib_samtools:1.21--ff7dba6cf4a3c4dd"

inputs:
  alignments:
    type: File
    inputBinding: {position: 1}
arguments: ["-o", "sorted.bam"]

outputs:
  sorted:
    type: File
    outputBinding: {glob: sorted.bam}
