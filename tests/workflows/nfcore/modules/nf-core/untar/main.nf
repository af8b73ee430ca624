// Installed with the modules but not included by any workflow: not part of a run.
process UNTAR {
    container "${ workflow.containerEngine == 'singularity' && !task.ext.singularity_pull_docker_container ?
        'oras://community.wave.seqera.io/library/ubuntu:24.04--singularity' :
        'nf-core/ubuntu:20.04' }"

    script:
    """
    tar -xf archive.tar
    """
}
