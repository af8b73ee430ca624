process REPORT {
    label 'process_single'
    container "${ workflow.containerEngine == 'singularity' ?
        'oras://community.wave.seqera.io/library/multiqc:1.25.1--singularity' :
        'docker://quay.io/biocontainers/multiqc:1.25.1--pyhdfd78af_0' }"

    input:
    path zips

    script:
    """
    multiqc .
    """
}
