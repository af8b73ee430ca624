process DEEPVARIANT {
    label 'process_gpu'
    container 'google/deepvariant:1.6.1'

    input:
    tuple val(meta), path(bam)

    output:
    tuple val(meta), path("*.vcf.gz"), emit: vcf

    script:
    """
    run_deepvariant --reads=$bam --output_vcf=${meta.id}.vcf.gz
    """
}
