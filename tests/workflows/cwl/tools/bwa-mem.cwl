cwlVersion: v1.2
class: CommandLineTool
label: Align paired reads with BWA-MEM
baseCommand: [bwa, mem]

requirements:
  - class: DockerRequirement
    dockerPull: quay.io/biocontainers/bwa:0.7.17--h5bf99c6_8
  - class: ResourceRequirement
    coresMin: 4

inputs:
  reference:
    type: File
    inputBinding: {position: 1}
  reads:
    type: File[]
    inputBinding: {position: 2}

stdout: aligned.sam
outputs:
  sam:
    type: stdout
