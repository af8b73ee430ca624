#!/usr/bin/env nextflow
nextflow.enable.dsl = 2

include { FASTQC        } from './modules/local/fastqc/main'
include { SAMTOOLS_SORT } from './modules/local/samtools_sort/main'
include { MULTIQC       } from './modules/local/multiqc/main'
include { DEEPVARIANT   } from './modules/local/deepvariant/main'

params.reads = "data/*_{1,2}.fastq.gz"

process CUSTOM_VERSIONS {
    label 'process_single'
    // Not a directive: a comment mentioning container 'ignored:1.0'
    container "${params.versions_image}"

    output:
    path "versions.yml"

    script:
    """
    echo 'container: "not-an-image"' > versions.yml
    """
}

workflow {
    reads = Channel.fromFilePairs(params.reads)
    FASTQC(reads)
    SAMTOOLS_SORT(reads)
    DEEPVARIANT(SAMTOOLS_SORT.out.bam)
    MULTIQC(FASTQC.out.zip.collect())
    CUSTOM_VERSIONS()
}
