#!/usr/bin/env nextflow
// A small pipeline whose eight images live on five registries, for PrepareWorkflowContainers'
// end-to-end test (tests/integration/test_prepare.py). The images are the testbed's seeded
// `test/<name>:1` images on each stand-in registry; the commands are placeholders.
nextflow.enable.dsl = 2

process ALIGN {
    container 'quay.io/test/amd64:1'
    script: "echo align"
}

process SORT {
    container 'quay.io/test/multiarch:1'
    script: "echo sort"
}

process CALL {
    container 'public.ecr.aws/test/amd64:1'
    script: "echo call"
}

process FILTER {
    container 'docker.io/test/amd64:1'
    script: "echo filter"
}

process ANNOTATE {
    container 'test/multiarch:1'
    script: "echo annotate"
}

process REPORT {
    container 'ghcr.io/test/amd64:1'
    script: "echo report"
}

process PLOT {
    container 'ghcr.io/test/multiarch:1'
    script: "echo plot"
}

process QC {
    container 'community.wave.seqera.io/test/amd64:1'
    script: "echo qc"
}

workflow {
    ALIGN()
    SORT()
    CALL()
    FILTER()
    ANNOTATE()
    REPORT()
    PLOT()
    QC()
}
