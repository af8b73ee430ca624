cwlVersion: v1.2
class: Workflow
label: Align, sort and checksum

requirements:
  SubworkflowFeatureRequirement: {}

inputs:
  reference: File
  reads: File[]

outputs:
  sorted:
    type: File
    outputSource: sort/sorted
  checksum:
    type: File
    outputSource: checksum/sum

steps:
  align:
    run: tools/bwa-mem.cwl
    in:
      reference: reference
      reads: reads
    out: [sam]
  sort:
    run: tools/samtools-sort.cwl
    in:
      alignments: align/sam
    out: [sorted]
  checksum:
    run:
      class: CommandLineTool
      baseCommand: [sha256sum]
      hints:
        - {class: DockerRequirement, dockerPull: 'ubuntu:22.04'}
      inputs:
        file:
          type: File
          inputBinding: {position: 1}
      stdout: checksum.txt
      outputs:
        sum:
          type: stdout
    in:
      file: sort/sorted
    out: [sum]
