process SAMTOOLS_SORT {
    tag "$meta.id"
    label 'process_medium'

    conda "${moduleDir}/environment.yml"
    container "${ workflow.containerEngine == 'singularity' && !task.ext.singularity_pull_docker_container ?
        'https://community-cr-prod.seqera.io/docker/registry/v2/blobs/sha256/5c/5c1ab4e9c5d2a3c1f0e8a9e4b2d3c4a5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1/data' :
        'community.wave.seqera.io/library/htslib_samtools:1.21--ff7dba6cf4a3c4dd' }"

    input:
    tuple val(meta), path(bam)

    output:
    tuple val(meta), path("*.sorted.bam"), emit: bam

    script:
    """
    samtools sort -o ${meta.id}.sorted.bam $bam
    """
}
