include { FASTQC        } from '../modules/nf-core/fastqc/main'
include { SAMTOOLS_SORT } from '../modules/nf-core/samtools/sort/main'
include { REPORT        } from '../modules/local/report'
include { paramsSummaryMap } from 'plugin/nf-schema'

workflow DEMO {
    take:
    reads

    main:
    FASTQC(reads)
    SAMTOOLS_SORT(reads)
    REPORT(FASTQC.out.zip.collect())
}
