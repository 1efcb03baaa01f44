//! The ledger file of SPEC §9: round trips, the exact byte layout, and every way a file can be cut
//! short or corrupt.

use std::io::Cursor;

use tandem_engine::Pubkey;
use tandem_engine::ledger::{
    BLOCK_HEADER_LEN, Block, BlockHeader, LEDGER_MAGIC, LedgerError, LedgerPart, LedgerReader,
    LedgerWriter, MAX_TRANSACTION_LEN,
};

fn header(slot: u64) -> BlockHeader {
    BlockHeader {
        slot,
        parent_slot: slot.saturating_sub(1),
        leader: Pubkey([slot as u8 ^ 0x5a; 32]),
        unix_timestamp_ms: 1_700_000_000_000 + 400 * slot as i64,
        blockhash: [slot as u8; 32],
    }
}

fn tx(seed: usize, len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 + seed * 7) as u8).collect()
}

/// Blocks with 0, 1 and many transactions, of lengths from 0 to the limit.
fn sample_blocks() -> Vec<Block> {
    vec![
        Block {
            header: header(1),
            transactions: vec![].into(),
        },
        Block {
            header: header(2),
            transactions: vec![tx(0, 215)].into(),
        },
        Block {
            header: header(5),
            transactions: (0..40)
                .map(|n| tx(n, [0, 1, 176, 600, MAX_TRANSACTION_LEN][n % 5]))
                .collect(),
        },
    ]
}

fn encode(blocks: &[Block]) -> Vec<u8> {
    let mut writer = LedgerWriter::new(Vec::new()).unwrap();
    for block in blocks {
        writer.append(block).unwrap();
    }
    writer.finish().unwrap()
}

fn read_all<R: std::io::Read>(reader: LedgerReader<R>) -> Result<Vec<Block>, LedgerError> {
    reader.collect()
}

#[test]
fn blocks_round_trip_through_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.bin");
    let blocks = sample_blocks();
    let mut writer = LedgerWriter::create(&path).unwrap();
    for block in &blocks {
        writer.append(block).unwrap();
    }
    writer.finish().unwrap();

    assert_eq!(std::fs::read(&path).unwrap(), encode(&blocks));
    let read = read_all(LedgerReader::open(&path).unwrap()).unwrap();
    assert_eq!(read, blocks);
}

#[test]
fn blocks_round_trip_through_a_stream() {
    let blocks = sample_blocks();
    let bytes = encode(&blocks);
    let read = read_all(LedgerReader::new(Cursor::new(&bytes)).unwrap()).unwrap();
    assert_eq!(read, blocks);
}

#[test]
fn an_empty_ledger_is_only_the_magic() {
    let bytes = encode(&[]);
    assert_eq!(bytes, LEDGER_MAGIC);
    assert!(
        read_all(LedgerReader::new(Cursor::new(&bytes)).unwrap())
            .unwrap()
            .is_empty()
    );

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("empty.bin");
    LedgerWriter::create(&path).unwrap().finish().unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), LEDGER_MAGIC);
    assert!(
        read_all(LedgerReader::open(&path).unwrap())
            .unwrap()
            .is_empty()
    );
}

#[test]
fn the_byte_layout_is_spec_section_9() {
    let block = Block {
        header: BlockHeader {
            slot: 0x0102_0304_0506_0708,
            parent_slot: 7,
            leader: Pubkey([0xaa; 32]),
            unix_timestamp_ms: -2,
            blockhash: [0xbb; 32],
        },
        transactions: vec![vec![1, 2, 3], vec![]].into(),
    };
    let bytes = encode(std::slice::from_ref(&block));
    let mut expect = b"TNDMLDG1".to_vec();
    expect.extend_from_slice(&0x0102_0304_0506_0708u64.to_le_bytes());
    expect.extend_from_slice(&7u64.to_le_bytes());
    expect.extend_from_slice(&[0xaa; 32]);
    expect.extend_from_slice(&(-2i64).to_le_bytes());
    expect.extend_from_slice(&[0xbb; 32]);
    expect.extend_from_slice(&2u32.to_le_bytes());
    expect.extend_from_slice(&3u32.to_le_bytes());
    expect.extend_from_slice(&[1, 2, 3]);
    expect.extend_from_slice(&0u32.to_le_bytes());
    assert_eq!(bytes, expect);
    assert_eq!(8 + BLOCK_HEADER_LEN + 4 + 7 + 4, bytes.len());
}

/// Cutting the file anywhere gives an error, except exactly at a block boundary, which is a valid
/// ledger of the blocks before it. Checked through a stream and through a file (which also bounds
/// the transaction count by the file's length).
#[test]
fn every_truncation_point_is_an_error_or_a_block_boundary() {
    let blocks: Vec<Block> = vec![
        Block {
            header: header(1),
            transactions: vec![].into(),
        },
        Block {
            header: header(2),
            transactions: vec![tx(0, 3)].into(),
        },
        Block {
            header: header(3),
            transactions: vec![tx(1, 2), tx(2, 0), tx(3, 5)].into(),
        },
    ];
    let bytes = encode(&blocks);
    // Where each block ends.
    let mut boundaries = vec![LEDGER_MAGIC.len()];
    for n in 1..=blocks.len() {
        boundaries.push(encode(&blocks[..n]).len());
    }
    assert_eq!(*boundaries.last().unwrap(), bytes.len());

    let dir = tempfile::tempdir().unwrap();
    for cut in 0..bytes.len() {
        let prefix = &bytes[..cut];
        let path = dir.path().join(format!("cut-{cut}.bin"));
        std::fs::write(&path, prefix).unwrap();

        let stream = LedgerReader::new(Cursor::new(prefix));
        let file = LedgerReader::open(&path);
        if cut < LEDGER_MAGIC.len() {
            for result in [stream.map(|_| ()), file.map(|_| ())] {
                match result {
                    Err(LedgerError::Truncated {
                        part: LedgerPart::Magic,
                        offset: 0,
                        needed: 8,
                        got,
                        ..
                    }) => assert_eq!(got, cut as u64),
                    Err(other) => panic!("cut {cut}: {other}"),
                    Ok(()) => panic!("cut {cut}: a {cut}-byte file opened as a ledger"),
                }
            }
            continue;
        }

        let whole_blocks = boundaries.iter().filter(|&&b| b <= cut).count() - 1;
        let at_boundary = boundaries.contains(&cut);
        for (how, results) in [
            ("stream", stream.unwrap().collect::<Vec<_>>()),
            ("file", file.unwrap().collect::<Vec<_>>()),
        ] {
            let good: Vec<&Block> = results.iter().map_while(|r| r.as_ref().ok()).collect();
            assert_eq!(good.len(), whole_blocks, "{how}, cut {cut}");
            assert_eq!(good, blocks[..whole_blocks].iter().collect::<Vec<_>>());
            if at_boundary {
                assert_eq!(results.len(), whole_blocks, "{how}, cut {cut}: clean end");
                continue;
            }
            assert_eq!(
                results.len(),
                whole_blocks + 1,
                "{how}, cut {cut}: one error, then the end"
            );
            let error = results.last().unwrap().as_ref().unwrap_err();
            match error {
                LedgerError::Truncated { block, offset, .. } => {
                    assert_eq!(*block, whole_blocks as u64, "{how}, cut {cut}: {error}");
                    assert!(
                        *offset as usize >= boundaries[whole_blocks] && (*offset as usize) <= cut,
                        "{how}, cut {cut}: {error}"
                    );
                }
                // A file knows its length, so a count that cannot fit is caught before reading.
                LedgerError::ImpossibleCount { block, .. } if how == "file" => {
                    assert_eq!(*block, whole_blocks as u64, "{how}, cut {cut}: {error}");
                }
                other => panic!("{how}, cut {cut}: unexpected error {other}"),
            }
            let message = error.to_string();
            assert!(
                message.contains(&format!("block {whole_blocks}")),
                "{message}"
            );
            assert!(message.contains("byte"), "{message}");
            let named = match how {
                "file" => path.display().to_string(),
                _ => "<stream>".to_owned(),
            };
            assert!(
                message.contains(&named),
                "{how}: the message names {named}: {message}"
            );
        }
    }
}

#[test]
fn a_truncation_names_the_block_part_and_offset() {
    let blocks = vec![
        Block {
            header: header(1),
            transactions: vec![].into(),
        },
        Block {
            header: header(2),
            transactions: vec![tx(0, 10), tx(1, 20)].into(),
        },
    ];
    let bytes = encode(&blocks);
    // Cut 5 bytes into the second transaction of block 1.
    let second_tx_bytes = bytes.len() - 20;
    let cut = &bytes[..second_tx_bytes + 5];
    let error = LedgerReader::new(Cursor::new(cut))
        .unwrap()
        .find_map(Result::err)
        .unwrap();
    match error {
        LedgerError::Truncated {
            block: 1,
            part: LedgerPart::TransactionBytes(1),
            offset,
            needed: 20,
            got: 5,
            ..
        } => assert_eq!(offset, second_tx_bytes as u64),
        other => panic!("{other}"),
    }
    assert_eq!(
        LedgerReader::new(Cursor::new(cut))
            .unwrap()
            .find_map(Result::err)
            .unwrap()
            .to_string(),
        format!(
            "ledger <stream> truncated: the bytes of transaction 1 of block 1 (slot 2) at \
             byte {second_tx_bytes}: 20 bytes needed, only 5 remain"
        )
    );
}

#[test]
fn a_bad_magic_is_rejected() {
    let mut bytes = encode(&sample_blocks());
    bytes[7] = b'2';
    match LedgerReader::new(Cursor::new(&bytes)) {
        Err(LedgerError::BadMagic { found, .. }) => assert_eq!(&found, b"TNDMLDG2"),
        Err(other) => panic!("{other}"),
        Ok(_) => panic!("a TNDMLDG2 file opened"),
    }
    let message = LedgerReader::new(Cursor::new(b"not a ledger at all"))
        .err()
        .unwrap()
        .to_string();
    assert!(message.contains("not a tandem ledger"), "{message}");
}

/// A ledger with one block whose single transaction claims `len` bytes, followed by `body`.
fn one_claimed_transaction(len: u32, body: &[u8]) -> Vec<u8> {
    let mut bytes = encode(&[Block {
        header: header(1),
        transactions: vec![].into(),
    }]);
    let count_at = bytes.len() - 4;
    bytes[count_at..].copy_from_slice(&1u32.to_le_bytes());
    bytes.extend_from_slice(&len.to_le_bytes());
    bytes.extend_from_slice(body);
    bytes
}

#[test]
fn an_error_inside_a_block_names_its_slot() {
    // A block given alone is block 0 of "<block>" whatever its slot: the host knows it by its
    // slot, which the error names once the header is read.
    let block = Block {
        header: header(57),
        transactions: (0..5).map(|n| tx(n, 200)).collect(),
    };
    let bytes = block.encode().unwrap();
    let cut = Block::decode(&bytes[..bytes.len() - 10])
        .unwrap_err()
        .to_string();
    assert!(cut.contains("of block 0 (slot 57)"), "{cut}");
    let mut oversized = bytes.clone();
    let third = BLOCK_HEADER_LEN + 4 + 3 * (4 + 200);
    oversized[third..third + 4].copy_from_slice(&5_000u32.to_le_bytes());
    let claimed = Block::decode(&oversized).unwrap_err().to_string();
    assert!(
        claimed.contains("transaction 3 of block 0 (slot 57)"),
        "{claimed}"
    );
    // In a file, the block's index and its slot.
    let mut file = encode(&sample_blocks());
    file.truncate(file.len() - 1);
    let err = LedgerReader::new(Cursor::new(&file))
        .unwrap()
        .find_map(Result::err)
        .unwrap()
        .to_string();
    assert!(err.contains("of block 2 (slot 5)"), "{err}");
}

#[test]
fn an_oversized_transaction_length_is_corruption() {
    let len_offset = (8 + BLOCK_HEADER_LEN + 4) as u64;
    for len in [MAX_TRANSACTION_LEN as u32 + 1, 1 << 20, u32::MAX] {
        // Even with the claimed bytes present, no transaction is that long.
        let body = vec![0u8; (len as usize).min(MAX_TRANSACTION_LEN + 1)];
        let bytes = one_claimed_transaction(len, &body);
        let error = LedgerReader::new(Cursor::new(&bytes))
            .unwrap()
            .find_map(Result::err)
            .unwrap();
        match &error {
            LedgerError::OversizedTransaction {
                block: 0,
                transaction: 0,
                len: claimed,
                offset,
                ..
            } => {
                assert_eq!(*claimed, len);
                assert_eq!(*offset, len_offset);
            }
            other => panic!("{other}"),
        }
        assert!(error.to_string().contains("corrupt ledger"), "{error}");
    }
    // The limit itself is fine.
    let bytes = one_claimed_transaction(MAX_TRANSACTION_LEN as u32, &[7; MAX_TRANSACTION_LEN]);
    let blocks = read_all(LedgerReader::new(Cursor::new(&bytes)).unwrap()).unwrap();
    assert_eq!(
        blocks[0].transactions,
        vec![vec![7; MAX_TRANSACTION_LEN]].into()
    );
}

#[test]
fn a_count_that_cannot_fit_is_caught_without_allocating_for_it() {
    let mut bytes = encode(&[Block {
        header: header(1),
        transactions: vec![].into(),
    }]);
    let count_at = bytes.len() - 4;
    bytes[count_at..].copy_from_slice(&u32::MAX.to_le_bytes());
    bytes.extend_from_slice(&[0; 12]); // three empty transactions, then the end

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge-count.bin");
    std::fs::write(&path, &bytes).unwrap();
    match LedgerReader::open(&path).unwrap().next() {
        Some(Err(LedgerError::ImpossibleCount {
            ledger,
            block: 0,
            slot: Some(_),
            count: u32::MAX,
            offset,
            remaining: 12,
        })) => {
            assert_eq!(offset, count_at as u64);
            assert_eq!(ledger, path.display().to_string());
        }
        other => panic!("{other:?}"),
    }

    // A stream has no length to check against: it reads until the bytes run out.
    match LedgerReader::new(Cursor::new(&bytes)).unwrap().next() {
        Some(Err(LedgerError::Truncated {
            block: 0,
            part: LedgerPart::TransactionLength(3),
            ..
        })) => {}
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_reader_stops_after_the_first_error() {
    let mut bytes = encode(&sample_blocks());
    bytes.extend_from_slice(&[1, 2, 3]);
    let mut reader = LedgerReader::new(Cursor::new(&bytes)).unwrap();
    for _ in 0..sample_blocks().len() {
        assert!(reader.next().unwrap().is_ok());
    }
    assert!(matches!(
        reader.next(),
        Some(Err(LedgerError::Truncated {
            part: LedgerPart::Header,
            got: 3,
            ..
        }))
    ));
    assert!(reader.next().is_none());
    assert!(reader.next().is_none());
}

#[test]
fn the_writer_refuses_a_transaction_the_reader_would_reject() {
    let mut writer = LedgerWriter::new(Vec::new()).unwrap();
    writer.append(&sample_blocks()[0]).unwrap();
    let too_long = Block {
        header: header(9),
        transactions: vec![vec![], vec![0; MAX_TRANSACTION_LEN + 1]].into(),
    };
    match writer.append(&too_long) {
        Err(LedgerError::UnwritableBlock { block: 1, reason }) => {
            assert!(reason.contains("transaction 1"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
    // Nothing of the refused block was written.
    let bytes = writer.finish().unwrap();
    assert_eq!(bytes, encode(&sample_blocks()[..1]));
}

#[test]
fn io_errors_name_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-ledger.bin");
    let message = LedgerReader::open(&missing).err().unwrap().to_string();
    assert!(message.contains("no-such-ledger.bin"), "{message}");

    let unwritable = dir.path().join("no-such-dir").join("ledger.bin");
    let message = LedgerWriter::create(&unwritable).err().unwrap().to_string();
    assert!(message.contains("no-such-dir"), "{message}");
}

#[test]
fn one_block_round_trips_through_its_encoding() {
    for block in sample_blocks() {
        let bytes = block.encode().unwrap();
        // The encoding is the block's bytes in a ledger file, the magic left out.
        let file = encode(std::slice::from_ref(&block));
        assert_eq!(bytes, file[LEDGER_MAGIC.len()..]);
        assert_eq!(Block::decode(&bytes).unwrap(), block);
    }
}

#[test]
fn decoding_one_block_rejects_empty_cut_and_trailing_bytes() {
    assert!(matches!(Block::decode(&[]), Err(LedgerError::EmptyBlock)));
    let block = &sample_blocks()[2];
    let bytes = block.encode().unwrap();
    for cut in 1..bytes.len() {
        let error = Block::decode(&bytes[..cut]).unwrap_err();
        assert!(
            matches!(
                error,
                LedgerError::Truncated { .. } | LedgerError::ImpossibleCount { .. }
            ),
            "cut at {cut}: {error}"
        );
    }
    let mut longer = bytes.clone();
    longer.extend_from_slice(&[0; 3]);
    let error = Block::decode(&longer).unwrap_err();
    assert!(
        matches!(error, LedgerError::TrailingBytes { used, extra: 3 } if used == bytes.len() as u64),
        "{error}"
    );
    assert_eq!(
        error.to_string(),
        format!(
            "3 bytes follow the block's {} bytes: give exactly one block",
            bytes.len()
        )
    );
}

#[cfg(target_os = "linux")]
#[test]
fn a_ledger_written_into_a_pipe_is_written_whole() {
    // `tandem gen --out /dev/stdout | tandem replay --ledger /dev/stdin`: `finish` fsynced the
    // pipe, which the kernel refuses (EINVAL), and the whole generation failed at its end.
    use std::io::Read;
    use std::os::fd::AsRawFd;
    let (mut rx, tx) = std::io::pipe().unwrap();
    let reader = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        rx.read_to_end(&mut bytes).map(|_| bytes)
    });
    let path = format!("/proc/self/fd/{}", tx.as_raw_fd());
    let mut writer = LedgerWriter::create(&path).unwrap();
    for block in &sample_blocks() {
        writer.append(block).unwrap();
    }
    writer.finish().expect("a stream is not fsynced");
    drop(tx);
    assert_eq!(reader.join().unwrap().unwrap(), encode(&sample_blocks()));
}

#[cfg(target_os = "linux")]
#[test]
fn a_ledger_read_through_a_pipe_is_not_called_corrupt() {
    // `tandem run --ledger <(cat l.ledger)`: a pipe's metadata says 0 bytes, which the reader
    // took for the file's length and found every block "longer than the file".
    use std::io::Write;
    use std::os::fd::AsRawFd;
    let bytes = encode(&sample_blocks());
    let (rx, mut tx) = std::io::pipe().unwrap();
    let feeder = std::thread::spawn(move || tx.write_all(&bytes));
    let path = format!("/proc/self/fd/{}", rx.as_raw_fd());
    let read = read_all(LedgerReader::open(path).unwrap());
    feeder.join().unwrap().unwrap();
    assert_eq!(read.unwrap(), sample_blocks());
}
