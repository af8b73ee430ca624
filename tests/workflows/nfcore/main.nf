#!/usr/bin/env nextflow
// An nf-core-shaped pipeline: the entry includes a workflow, which includes a subworkflow and
// modules. Only what this chain reaches is part of a run.
include { DEMO    } from './workflows/demo'
include { PREPARE } from './subworkflows/local/prepare'

workflow {
    PREPARE()
    DEMO(PREPARE.out.reads)
}
