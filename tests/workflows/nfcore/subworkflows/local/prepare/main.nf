workflow PREPARE {
    main:
    reads = Channel.fromFilePairs(params.input)

    emit:
    reads
}
