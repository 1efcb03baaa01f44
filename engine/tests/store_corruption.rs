//! Damaged store files give clear, typed errors that name the file and the page, and nothing is
//! silently repaired: every test builds a store (a few hundred accounts in each region, over
//! three commits), closes it, damages one file with `std::fs`, and checks that both
//! `Store::open` and `Store::check` fail with the exact error, and that the failed opens left
//! every file of the store byte-for-byte as it was.
//!
//! Pages are located by reading the file bytes (SPEC §1 and `store::layout`): page `p` starts at
//! `p * 4096`; a used page starts with the magic `TPG1`, byte 4 is its mapping tag (VMID), byte 5
//! its kind (1 cells, 2 span head, 3 span continuation); its checksum is xxh3-64 over header bytes
//! `0..56` and body bytes `64..4096`, stored little-endian at bytes `56..64`.

mod common;

use common::SplitMix;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use tandem_engine::store::{SlotChanges, Store, StoreError};
use tandem_engine::{Account, Domain, Mapping, Pubkey};

const PAGE: usize = 4096;
const HEADER: usize = 64;
const KIND_CELLS: u8 = 1;
const KIND_SPAN_HEAD: u8 = 2;
const KIND_SPAN_CONT: u8 = 3;
/// The slot of the last commit of the fixture.
const LAST_SLOT: u64 = 3;

// ---------------------------------------------------------------------------------------------
// Helpers: building the store
// ---------------------------------------------------------------------------------------------

/// The accounts the fixture store holds after its last commit.
type Model = HashMap<Pubkey, Account>;

/// Builds the fixture store in `dir` and closes it: slot 1 loads ~250 accounts into each region
/// (a few of them spanning pages), slot 2 updates, deletes and creates accounts through the
/// views, slot 3 remaps some RW-VED accounts to RW-UED.
fn build_store(dir: &Path) -> Model {
    let mut rng = SplitMix::new(0xC0FF_EE00_D15C);
    let mut store = Store::create(dir).unwrap();
    let mut model = Model::new();

    let mut changes = SlotChanges::new();
    for mapping in Mapping::ALL {
        for i in 0..250 {
            let len = match i {
                // Spanning accounts: 2, 3, 8 and 13 pages.
                10 => 5_000,
                20 => 9_000,
                30 => 30_000,
                40 => 50_000,
                _ => rng.below(401) as usize,
            };
            let a = rng.account(mapping, len);
            model.insert(a.pubkey, a.clone());
            changes.load(a);
        }
    }
    store.commit(1, changes).unwrap();

    let mut changes = SlotChanges::new();
    let mut keys: Vec<Pubkey> = model.keys().copied().collect();
    keys.sort();
    for (n, k) in keys.iter().enumerate() {
        let current = model[k].clone();
        let domain = match current.mapping {
            Mapping::RwVed => Domain::Ved,
            Mapping::RwUed => Domain::Ued,
            _ => continue,
        };
        if current.data.len() > 4_000 {
            // The spanning accounts stay: the damage tests need spans in every region.
            continue;
        }
        let view = store.view(domain);
        match n % 7 {
            0 => {
                view.stage_delete(&mut changes, k).unwrap();
                model.remove(k);
            }
            1 | 2 => {
                let mut updated = current;
                updated.lamports = rng.next();
                let len = rng.below(601) as usize;
                updated.data = rng.bytes(len);
                view.stage_write(&mut changes, updated.clone()).unwrap();
                model.insert(*k, updated);
            }
            _ => {}
        }
    }
    for _ in 0..60 {
        let len = rng.below(300) as usize;
        let a = rng.account(Mapping::RwUed, len);
        store
            .view(Domain::Ued)
            .stage_write(&mut changes, a.clone())
            .unwrap();
        model.insert(a.pubkey, a);
    }
    store.commit(2, changes).unwrap();

    let mut changes = SlotChanges::new();
    let mut ved: Vec<&Account> = model
        .values()
        .filter(|a| a.mapping == Mapping::RwVed)
        .collect();
    ved.sort_by_key(|a| (a.data.len() > 4_000, a.data.len(), a.pubkey));
    // Ten accounts in cells, and the smallest spanning account.
    let mut moved: Vec<Pubkey> = ved[..10].iter().map(|a| a.pubkey).collect();
    moved.push(ved.iter().find(|a| a.data.len() > 4_000).unwrap().pubkey);
    for k in moved {
        changes.remap(k, Mapping::RwUed);
        model.get_mut(&k).unwrap().mapping = Mapping::RwUed;
    }
    store.commit(LAST_SLOT, changes).unwrap();
    assert_matches_model(&store, &model, "fixture");
    for mapping in Mapping::ALL {
        assert!(
            store.count(mapping) >= 200,
            "{mapping}: {}",
            store.count(mapping)
        );
    }
    drop(store);
    model
}

/// A fresh fixture store: its directory and the accounts it holds.
fn fixture() -> (tempfile::TempDir, Model) {
    let dir = tempfile::tempdir().unwrap();
    let model = build_store(dir.path());
    (dir, model)
}

fn assert_matches_model(store: &Store, model: &Model, when: &str) {
    assert_eq!(store.len(), model.len(), "{when}: number of accounts");
    for (k, expected) in model {
        let got = store
            .inspect(k)
            .unwrap_or_else(|| panic!("{when}: {k} is missing"))
            .to_account();
        assert!(got == *expected, "{when}: account {k} differs");
    }
    for mapping in Mapping::ALL {
        let n = model.values().filter(|a| a.mapping == mapping).count() as u64;
        assert_eq!(store.count(mapping), n, "{when}: count({mapping})");
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers: files and pages
// ---------------------------------------------------------------------------------------------

fn region_path(dir: &Path, mapping: Mapping) -> PathBuf {
    dir.join(format!("{}.pages", mapping.name()))
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

fn write(path: &Path, bytes: &[u8]) {
    std::fs::write(path, bytes).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}

/// Every file of the store directory and its bytes.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                read(&e.path()),
            )
        })
        .collect()
}

fn assert_files_unchanged(dir: &Path, before: &BTreeMap<String, Vec<u8>>) {
    let after = files(dir);
    assert_eq!(
        after.keys().collect::<Vec<_>>(),
        before.keys().collect::<Vec<_>>(),
        "the failed open added or removed files"
    );
    for (name, bytes) in before {
        assert!(
            after[name] == *bytes,
            "the failed open modified {name}: damage must not be silently repaired"
        );
    }
}

/// Opens the damaged store with `Store::open` and with `Store::check`; both must fail, and
/// neither may change any file. Returns both errors.
fn open_fails(dir: &Path) -> [StoreError; 2] {
    let before = files(dir);
    let opened = Store::open(dir).expect_err("open of a damaged store must fail");
    assert_files_unchanged(dir, &before);
    let checked = Store::check(dir).expect_err("check of a damaged store must fail");
    assert_files_unchanged(dir, &before);
    // A second open fails the same way: the first one repaired nothing.
    let again = Store::open(dir).expect_err("a second open must fail too");
    assert_eq!(again.to_string(), opened.to_string());
    assert_files_unchanged(dir, &before);
    [opened, checked]
}

/// Asserts `message` names the file and says each of `parts`.
fn assert_message(err: &StoreError, path: &Path, parts: &[&str]) {
    let message = err.to_string();
    assert!(
        message.contains(&path.display().to_string()),
        "the message should name {}: {message}",
        path.display()
    );
    for part in parts {
        assert!(
            message.contains(part),
            "the message should say '{part}': {message}"
        );
    }
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes(b[at..at + 2].try_into().unwrap())
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}

/// The used pages (magic `TPG1`) of a region file's bytes with page kind `kind`.
fn pages_of_kind(bytes: &[u8], kind: u8) -> Vec<usize> {
    (1..bytes.len() / PAGE)
        .filter(|&p| &bytes[p * PAGE..p * PAGE + 4] == b"TPG1" && bytes[p * PAGE + 5] == kind)
        .collect()
}

/// The used pages of a region file's bytes.
fn used_pages(bytes: &[u8]) -> Vec<usize> {
    (1..bytes.len() / PAGE)
        .filter(|&p| &bytes[p * PAGE..p * PAGE + 4] == b"TPG1")
        .collect()
}

/// A cell page in the middle of the region (not simply the first one).
fn some_cell_page(bytes: &[u8]) -> usize {
    let pages = pages_of_kind(bytes, KIND_CELLS);
    assert!(
        pages.len() >= 3,
        "the fixture should have several cell pages"
    );
    pages[pages.len() / 2]
}

/// The checksum of page `p`, computed independently of the store's code.
fn checksum(bytes: &[u8], p: usize) -> u64 {
    let page = &bytes[p * PAGE..(p + 1) * PAGE];
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    h.update(&page[..56]);
    h.update(&page[HEADER..]);
    h.digest()
}

fn stored_checksum(bytes: &[u8], p: usize) -> u64 {
    u64_at(bytes, p * PAGE + 56)
}

/// Recomputes and stores page `p`'s checksum, so that only the deliberate change is wrong.
fn reseal(bytes: &mut [u8], p: usize) {
    let sum = checksum(bytes, p);
    bytes[p * PAGE + 56..p * PAGE + 64].copy_from_slice(&sum.to_le_bytes());
}

/// Flips bit `bit` of byte `at` of the file.
/// The offsets of the superblock's two copies in its bytes: the current one (the higher
/// sequence number) and the older.
fn superblock_copies(bytes: &[u8]) -> (usize, usize) {
    if u64_at(bytes, 8) > u64_at(bytes, 4096 + 8) {
        (0, 4096)
    } else {
        (4096, 0)
    }
}

fn flip_bit(path: &Path, at: usize, bit: u8) {
    let mut bytes = read(path);
    bytes[at] ^= 1 << bit;
    write(path, &bytes);
}

/// The first record of cell page `p`: its byte offset in the file, its cell number and the cell
/// size.
fn first_record(bytes: &[u8], p: usize) -> (usize, u32, usize) {
    let cell_size = u16_at(bytes, p * PAGE + 6) as usize;
    let bitmap = u64_at(bytes, p * PAGE + 8);
    assert_ne!(bitmap, 0, "page {p} is a cell page with no record");
    let cell = bitmap.trailing_zeros();
    (
        p * PAGE + HEADER + cell as usize * cell_size,
        cell,
        cell_size,
    )
}

fn pubkey_at(bytes: &[u8], at: usize) -> Pubkey {
    Pubkey(bytes[at..at + 32].try_into().unwrap())
}

fn copy_store(from: &Path, to: &Path) {
    for (name, bytes) in files(from) {
        write(&to.join(name), &bytes);
    }
}

/// A copy of a (closed) store directory in a new temporary directory.
fn clone_store(from: &Path) -> tempfile::TempDir {
    let copy = tempfile::tempdir().unwrap();
    copy_store(from, copy.path());
    copy
}

// ---------------------------------------------------------------------------------------------
// The fixture itself
// ---------------------------------------------------------------------------------------------

#[test]
fn the_undamaged_fixture_opens_checks_and_matches_its_model() {
    let (dir, model) = fixture();
    let report = Store::check(dir.path()).unwrap();
    assert_eq!(report.committed_slot, Some(LAST_SLOT));
    assert_eq!(report.recovered_slot, None);
    let store = Store::open(dir.path()).unwrap();
    assert_matches_model(&store, &model, "reopened fixture");
    drop(store);
    // Every region has cell pages and spans, and the page checksums are the documented ones.
    for mapping in Mapping::ALL {
        let bytes = read(&region_path(dir.path(), mapping));
        assert_eq!(bytes.len() % PAGE, 0);
        assert!(pages_of_kind(&bytes, KIND_CELLS).len() >= 3, "{mapping}");
        assert!(
            pages_of_kind(&bytes, KIND_SPAN_HEAD).len() >= 3,
            "{mapping}"
        );
        assert!(
            pages_of_kind(&bytes, KIND_SPAN_CONT).len() >= 10,
            "{mapping}"
        );
        for p in used_pages(&bytes) {
            assert_eq!(bytes[p * PAGE + 4], mapping.tag(), "{mapping} page {p}");
            assert_eq!(u64_at(&bytes, p * PAGE + 24), p as u64, "page number");
            assert_eq!(
                stored_checksum(&bytes, p),
                checksum(&bytes, p),
                "{mapping} page {p}"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Truncation
// ---------------------------------------------------------------------------------------------

#[test]
fn a_region_file_cut_mid_page_is_truncated() {
    let (dir, _) = fixture();
    let path = region_path(dir.path(), Mapping::RwVed);
    let len = read(&path).len();
    let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    file.set_len((len - 1000) as u64).unwrap();
    drop(file);
    let cut_page = (len - 1000) / PAGE;
    for err in open_fails(dir.path()) {
        assert!(
            matches!(&err, StoreError::Truncated { path: p, .. } if *p == path),
            "{err:?}"
        );
        assert!(err.is_corruption());
        assert_message(
            &err,
            &path,
            &[
                "is truncated",
                "not a whole number of 4096-byte pages",
                &format!("page {cut_page} is cut short"),
            ],
        );
    }
}

#[test]
fn a_region_file_cut_at_a_page_boundary_is_truncated_against_the_superblock() {
    let (dir, _) = fixture();
    let path = region_path(dir.path(), Mapping::RwUed);
    let bytes = read(&path);
    let recorded = bytes.len() / PAGE;
    // The pages about to be removed hold accounts.
    assert!(
        used_pages(&bytes).iter().filter(|&&p| p >= 2).count() >= 10,
        "rw-ued.pages should use many pages beyond page 1"
    );
    write(&path, &bytes[..2 * PAGE]);
    for err in open_fails(dir.path()) {
        assert!(
            matches!(&err, StoreError::Truncated { path: p, .. } if *p == path),
            "{err:?}"
        );
        assert_message(
            &err,
            &path,
            &[&format!("2 pages, but the last commit recorded {recorded}")],
        );
    }
}

#[test]
fn pages_a_commit_grew_a_region_by_and_never_recorded_are_cut_off() {
    // The file grows before the log; a crash before the superblock leaves it longer than the
    // commit recorded. 1 TiB more (sparse): open took a page table of 268 M entries and scanned
    // every page (at 15 TiB it aborted on a 96 GB allocation). Now the pages are cut off.
    let (dir, model) = fixture();
    let path = region_path(dir.path(), Mapping::RwVed);
    let recorded = read(&path).len() as u64;
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(recorded + (1 << 40))
        .unwrap();
    let mut store = Store::open(dir.path()).unwrap();
    assert_matches_model(&store, &model, "reopened with a grown region");
    assert_eq!(std::fs::metadata(&path).unwrap().len(), recorded);
    // And the store goes on: a commit after it reopens to the same accounts.
    let mut next = model.clone();
    let (key, account) = model
        .iter()
        .find(|(_, a)| a.mapping == Mapping::RwVed)
        .unwrap();
    let mut changed = account.clone();
    changed.lamports += 1;
    next.insert(*key, changed.clone());
    let mut changes = SlotChanges::new();
    changes.load(changed);
    store.commit(LAST_SLOT + 1, changes).unwrap();
    drop(store);
    let store = Store::open(dir.path()).unwrap();
    assert_matches_model(&store, &next, "after a commit");
}

#[test]
fn a_region_file_missing_only_free_trailing_pages_is_still_truncated() {
    let (dir, _) = fixture();
    let path = region_path(dir.path(), Mapping::RxUed);
    let bytes = read(&path);
    let recorded = bytes.len() / PAGE;
    let last_used = *used_pages(&bytes).last().unwrap();
    assert!(
        last_used + 1 < recorded,
        "the region should end in free pages"
    );
    write(&path, &bytes[..(last_used + 1) * PAGE]);
    for err in open_fails(dir.path()) {
        assert!(
            matches!(&err, StoreError::Truncated { path: p, .. } if *p == path),
            "{err:?}"
        );
        assert_message(
            &err,
            &path,
            &[&format!(
                "{} pages, but the last commit recorded {recorded}",
                last_used + 1
            )],
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Checksums
// ---------------------------------------------------------------------------------------------

/// Flips one bit at byte `offset` of page `page` of `mapping`'s region, then expects
/// `ChecksumMismatch` for that page, with the stored checksum read from the file.
fn assert_bit_flip_is_checksum_mismatch(mapping: Mapping, kind: u8, offset: usize) {
    let (dir, _) = fixture();
    let path = region_path(dir.path(), mapping);
    let bytes = read(&path);
    let pages = pages_of_kind(&bytes, kind);
    let page = pages[pages.len() / 2];
    flip_bit(&path, page * PAGE + offset, 3);
    let damaged = read(&path);
    let stored = stored_checksum(&damaged, page);
    let computed = checksum(&damaged, page);
    assert_ne!(stored, computed);
    for err in open_fails(dir.path()) {
        assert!(
            matches!(
                &err,
                StoreError::ChecksumMismatch { path: p, page: n, stored: s, computed: c }
                    if *p == path && *n == page as u64 && *s == stored && *c == computed
            ),
            "expected ChecksumMismatch for page {page} of {}, got {err:?}",
            path.display()
        );
        assert!(err.is_corruption());
        assert_message(
            &err,
            &path,
            &[&format!(": page {page} is corrupt: checksum mismatch")],
        );
    }
}

#[test]
fn a_flipped_bit_in_a_cell_page_body_is_a_checksum_mismatch_of_that_page() {
    assert_bit_flip_is_checksum_mismatch(Mapping::RwVed, KIND_CELLS, HEADER + 1234);
}

#[test]
fn a_flipped_bit_in_a_page_header_is_a_checksum_mismatch_of_that_page() {
    // Byte 33: the slot field of the header.
    assert_bit_flip_is_checksum_mismatch(Mapping::RwUed, KIND_CELLS, 33);
}

#[test]
fn a_flipped_bit_in_a_program_page_is_a_checksum_mismatch_of_that_page() {
    assert_bit_flip_is_checksum_mismatch(Mapping::RxUedVed, KIND_CELLS, HEADER + 7);
}

#[test]
fn a_flipped_bit_in_a_span_head_page_is_a_checksum_mismatch_of_that_page() {
    assert_bit_flip_is_checksum_mismatch(Mapping::RwVed, KIND_SPAN_HEAD, HEADER + 3000);
}

/// A span's continuation pages are decoded while the scan handles the span's head; their defects
/// must still be reported as the same variants as any other page's (a regression test).
#[test]
fn a_flipped_bit_in_a_span_continuation_page_is_a_checksum_mismatch_of_that_page() {
    assert_bit_flip_is_checksum_mismatch(Mapping::RwVed, KIND_SPAN_CONT, HEADER + 777);
}

/// The damage is a corruption error that names the file and the continuation page.
#[test]
fn a_flipped_bit_in_a_span_continuation_page_is_an_error_naming_that_page() {
    let (dir, _) = fixture();
    let path = region_path(dir.path(), Mapping::RwVed);
    let pages = pages_of_kind(&read(&path), KIND_SPAN_CONT);
    let page = pages[pages.len() / 2];
    flip_bit(&path, page * PAGE + HEADER + 777, 3);
    for err in open_fails(dir.path()) {
        assert!(err.is_corruption());
        assert_message(&err, &path, &[&format!(": page {page} is corrupt")]);
    }
}

// ---------------------------------------------------------------------------------------------
// Mapping tags (VMIDs)
// ---------------------------------------------------------------------------------------------

/// Writes `tag` into the VMID byte of a page of `kind` in `mapping`'s region and reseals it.
/// Returns the region's path and the page.
fn retag(dir: &Path, mapping: Mapping, kind: u8, tag: u8) -> (PathBuf, usize) {
    let path = region_path(dir, mapping);
    let mut bytes = read(&path);
    let pages = pages_of_kind(&bytes, kind);
    let page = pages[pages.len() / 2];
    bytes[page * PAGE + 4] = tag;
    reseal(&mut bytes, page);
    write(&path, &bytes);
    (path, page)
}

#[test]
fn a_page_resealed_with_tag_7_is_an_invalid_mapping_tag() {
    let (dir, _) = fixture();
    let (path, page) = retag(dir.path(), Mapping::RwVed, KIND_CELLS, 7);
    for err in open_fails(dir.path()) {
        assert!(
            matches!(
                &err,
                StoreError::InvalidMappingTag { path: p, page: n, tag: 7 }
                    if *p == path && *n == page as u64
            ),
            "{err:?}"
        );
        assert!(err.is_corruption());
        assert_message(
            &err,
            &path,
            &[&format!(": page {page} has invalid mapping tag 7")],
        );
    }
}

#[test]
fn a_span_head_resealed_with_tag_0_is_an_invalid_mapping_tag() {
    let (dir, _) = fixture();
    let (path, page) = retag(dir.path(), Mapping::RxUed, KIND_SPAN_HEAD, 0);
    for err in open_fails(dir.path()) {
        assert!(
            matches!(
                &err,
                StoreError::InvalidMappingTag { path: p, page: n, tag: 0 }
                    if *p == path && *n == page as u64
            ),
            "{err:?}"
        );
    }
}

/// An invalid tag in a span continuation page is reported as such (regression test).
#[test]
fn a_span_continuation_page_resealed_with_tag_7_is_an_invalid_mapping_tag() {
    let (dir, _) = fixture();
    let (path, page) = retag(dir.path(), Mapping::RwUed, KIND_SPAN_CONT, 7);
    for err in open_fails(dir.path()) {
        assert!(
            matches!(
                &err,
                StoreError::InvalidMappingTag { path: p, page: n, tag: 7 }
                    if *p == path && *n == page as u64
            ),
            "{err:?}"
        );
    }
}

#[test]
fn a_page_resealed_with_another_regions_tag_is_a_corrupt_page() {
    let (dir, _) = fixture();
    let (path, page) = retag(dir.path(), Mapping::RwVed, KIND_CELLS, Mapping::RwUed.tag());
    for err in open_fails(dir.path()) {
        assert!(
            matches!(
                &err,
                StoreError::CorruptPage { path: p, page: n, .. }
                    if *p == path && *n == page as u64
            ),
            "{err:?}"
        );
        assert!(err.is_corruption());
        assert_message(
            &err,
            &path,
            &[
                &format!(": page {page} is corrupt"),
                "page tagged rw-ued in the rw-ved region",
            ],
        );
    }
}

#[test]
fn a_program_page_resealed_with_an_rw_tag_is_a_corrupt_page() {
    let (dir, _) = fixture();
    let (path, page) = retag(
        dir.path(),
        Mapping::RxUedVed,
        KIND_CELLS,
        Mapping::RwVed.tag(),
    );
    for err in open_fails(dir.path()) {
        assert!(
            matches!(
                &err,
                StoreError::CorruptPage { path: p, page: n, .. }
                    if *p == path && *n == page as u64
            ),
            "{err:?}"
        );
        assert_message(
            &err,
            &path,
            &["page tagged rw-ved in the rx-ued-ved region"],
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Records that break an invariant, resealed with a correct checksum
// ---------------------------------------------------------------------------------------------

/// Changes the first record of a cell page of `mapping`'s region with `damage(bytes, record_at)`,
/// reseals the page, and expects `CorruptPage` for it whose reason contains `reason(pubkey,
/// cell, cell_size)`.
fn assert_bad_record_is_corrupt_page(
    mapping: Mapping,
    damage: impl Fn(&mut [u8], usize, usize),
    reason: impl Fn(Pubkey, u32, usize) -> String,
) {
    let (dir, _) = fixture();
    let path = region_path(dir.path(), mapping);
    let mut bytes = read(&path);
    let page = some_cell_page(&bytes);
    let (at, cell, cell_size) = first_record(&bytes, page);
    let pubkey = pubkey_at(&bytes, at);
    damage(&mut bytes, at, cell_size);
    reseal(&mut bytes, page);
    write(&path, &bytes);
    let expected = format!("cell {cell}: {}", reason(pubkey, cell, cell_size));
    for err in open_fails(dir.path()) {
        assert!(
            matches!(
                &err,
                StoreError::CorruptPage { path: p, page: n, .. }
                    if *p == path && *n == page as u64
            ),
            "{err:?}"
        );
        assert!(err.is_corruption());
        assert_message(
            &err,
            &path,
            &[&format!(": page {page} is corrupt: "), &expected],
        );
    }
}

#[test]
fn a_record_with_executable_1_in_an_rw_region_is_a_corrupt_page() {
    assert_bad_record_is_corrupt_page(
        Mapping::RwVed,
        |b, at, _| b[at + 76] = 1,
        |k, _, _| format!("record of {k} is a program but mapped rw-ved"),
    );
}

#[test]
fn a_record_with_executable_0_in_an_rx_region_is_a_corrupt_page() {
    assert_bad_record_is_corrupt_page(
        Mapping::RxUed,
        |b, at, _| b[at + 76] = 0,
        |k, _, _| format!("record of {k} is not a program but mapped rx-ued"),
    );
}

#[test]
fn a_record_with_an_executable_byte_other_than_0_or_1_is_a_corrupt_page() {
    assert_bad_record_is_corrupt_page(
        Mapping::RwUed,
        |b, at, _| b[at + 76] = 2,
        |k, _, _| format!("record of {k} has executable byte 2"),
    );
}

#[test]
fn a_record_whose_data_length_overflows_its_cell_is_a_corrupt_page() {
    assert_bad_record_is_corrupt_page(
        Mapping::RwUed,
        |b, at, cell_size| b[at + 72..at + 76].copy_from_slice(&(cell_size as u32).to_le_bytes()),
        |k, _, cell_size| {
            format!(
                "record of {k} ({} bytes) overflows its {cell_size}-byte cell",
                cell_size + 80
            )
        },
    );
}

#[test]
fn a_record_whose_mapping_byte_differs_from_the_page_vmid_is_a_corrupt_page() {
    assert_bad_record_is_corrupt_page(
        Mapping::RwVed,
        |b, at, _| b[at + 77] = Mapping::RwUed.tag(),
        |k, _, _| format!("record of {k} says rw-ued in the rw-ved region"),
    );
}

#[test]
fn a_record_with_an_invalid_mapping_byte_is_a_corrupt_page() {
    assert_bad_record_is_corrupt_page(
        Mapping::RwUed,
        |b, at, _| b[at + 77] = 9,
        |k, _, _| format!("record of {k}: invalid mapping tag 9"),
    );
}

#[test]
fn a_span_head_record_whose_length_does_not_match_its_span_is_a_corrupt_page() {
    let (dir, _) = fixture();
    let path = region_path(dir.path(), Mapping::RwVed);
    let mut bytes = read(&path);
    let page = pages_of_kind(&bytes, KIND_SPAN_HEAD)[0];
    let span_len = u32_at(&bytes, page * PAGE + 16);
    let at = page * PAGE + HEADER;
    // One more page's worth of data than the span holds.
    let data_len = u32_at(&bytes, at + 72) + 4032;
    bytes[at + 72..at + 76].copy_from_slice(&data_len.to_le_bytes());
    reseal(&mut bytes, page);
    write(&path, &bytes);
    for err in open_fails(dir.path()) {
        assert!(
            matches!(
                &err,
                StoreError::CorruptPage { path: p, page: n, .. }
                    if *p == path && *n == page as u64
            ),
            "{err:?}"
        );
        assert_message(
            &err,
            &path,
            &[&format!(
                "a record of {} bytes in a span of {span_len} pages",
                data_len + 80
            )],
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Pages that are well-formed but out of place
// ---------------------------------------------------------------------------------------------

#[test]
fn a_page_zeroed_to_look_free_is_caught_by_the_account_count() {
    let (dir, model) = fixture();
    let path = region_path(dir.path(), Mapping::RwVed);
    let mut bytes = read(&path);
    let page = some_cell_page(&bytes);
    let lost = u64_at(&bytes, page * PAGE + 8).count_ones() as usize;
    bytes[page * PAGE..(page + 1) * PAGE].fill(0);
    write(&path, &bytes);
    let recorded = model
        .values()
        .filter(|a| a.mapping == Mapping::RwVed)
        .count();
    for err in open_fails(dir.path()) {
        assert!(
            matches!(&err, StoreError::CorruptFile { path: p, .. } if *p == path),
            "{err:?}"
        );
        assert!(err.is_corruption());
        assert_message(
            &err,
            &path,
            &[&format!(
                "the last commit recorded {recorded} accounts in this region, its pages hold {}",
                recorded - lost
            )],
        );
    }
}

#[test]
fn a_page_copied_to_another_page_number_is_a_misplaced_corrupt_page() {
    let (dir, _) = fixture();
    let path = region_path(dir.path(), Mapping::RwUed);
    let mut bytes = read(&path);
    let from = some_cell_page(&bytes);
    let to = *used_pages(&bytes).last().unwrap() + 1;
    assert!(
        to < bytes.len() / PAGE,
        "the region should end in free pages"
    );
    bytes.copy_within(from * PAGE..(from + 1) * PAGE, to * PAGE);
    write(&path, &bytes);
    for err in open_fails(dir.path()) {
        assert!(
            matches!(
                &err,
                StoreError::CorruptPage { path: p, page: n, .. } if *p == path && *n == to as u64
            ),
            "{err:?}"
        );
        assert_message(
            &err,
            &path,
            &[&format!("header names page {from}: a misplaced page")],
        );
    }
}

#[test]
fn a_page_written_by_a_slot_after_the_committed_one_is_a_corrupt_page() {
    let (dir, _) = fixture();
    let path = region_path(dir.path(), Mapping::RxUed);
    let page = some_cell_page(&read(&path));
    assert_written_after_the_committed_slot_is_corrupt(dir.path(), &path, page);
}

#[test]
fn a_span_continuation_page_written_by_a_later_slot_is_a_corrupt_page() {
    let (dir, _) = fixture();
    let path = region_path(dir.path(), Mapping::RwUed);
    let page = pages_of_kind(&read(&path), KIND_SPAN_CONT)[0];
    assert_written_after_the_committed_slot_is_corrupt(dir.path(), &path, page);
}

/// Page `page` of `path` claims slot 9: open names it, as written after the committed slot.
fn assert_written_after_the_committed_slot_is_corrupt(dir: &Path, path: &Path, page: usize) {
    let path = path.to_owned();
    let mut bytes = read(&path);
    bytes[page * PAGE + 32..page * PAGE + 40].copy_from_slice(&9u64.to_le_bytes());
    reseal(&mut bytes, page);
    write(&path, &bytes);
    for err in open_fails(dir) {
        assert!(
            matches!(
                &err,
                StoreError::CorruptPage { path: p, page: n, .. }
                    if *p == path && *n == page as u64
            ),
            "{err:?}"
        );
        assert_message(
            &err,
            &path,
            &[&format!(
                "written by slot 9, after the last committed slot ({LAST_SLOT})"
            )],
        );
    }
}

#[test]
fn an_account_stored_twice_is_a_corrupt_page() {
    let (dir, _) = fixture();
    let path = region_path(dir.path(), Mapping::RwVed);
    let mut bytes = read(&path);
    let cells = pages_of_kind(&bytes, KIND_CELLS);
    let (first, second) = (cells[0], cells[cells.len() - 1]);
    let (at_first, _, _) = first_record(&bytes, first);
    let (at_second, _, _) = first_record(&bytes, second);
    let twice = pubkey_at(&bytes, at_first);
    // The second record takes the first one's address (the account count stays right).
    bytes.copy_within(at_first..at_first + 32, at_second);
    reseal(&mut bytes, second);
    write(&path, &bytes);
    for err in open_fails(dir.path()) {
        assert!(
            matches!(
                &err,
                StoreError::CorruptPage { path: p, page: n, .. }
                    if *p == path && *n == second as u64
            ),
            "{err:?}"
        );
        assert_message(
            &err,
            &path,
            &[&format!(
                "account {twice} is stored twice (also in rw-ved.pages page {first})"
            )],
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Region headers, missing files, the superblock
// ---------------------------------------------------------------------------------------------

fn assert_region_header_error(dir: &Path, path: &Path, reason: &str) {
    for err in open_fails(dir) {
        assert!(
            matches!(&err, StoreError::CorruptPage { path: p, page: 0, .. } if p == path),
            "{err:?}"
        );
        assert!(err.is_corruption());
        assert_message(&err, path, &[": page 0 is corrupt: ", reason]);
    }
}

#[test]
fn a_damaged_region_header_is_a_corrupt_page_0() {
    let (dir, _) = fixture();
    let path = region_path(dir.path(), Mapping::RxUed);
    // Byte 16 is the region's mapping tag, covered by the header checksum.
    flip_bit(&path, 16, 1);
    assert_region_header_error(dir.path(), &path, "region header checksum mismatch");
}

#[test]
fn a_region_header_with_a_bad_magic_is_a_corrupt_page_0() {
    let (dir, _) = fixture();
    let path = region_path(dir.path(), Mapping::RwUed);
    flip_bit(&path, 0, 0);
    assert_region_header_error(dir.path(), &path, "not a tandem region file");
}

#[test]
fn a_region_file_holding_another_mappings_header_is_a_corrupt_page_0() {
    let (dir, _) = fixture();
    let ved = region_path(dir.path(), Mapping::RwVed);
    let ued = read(&region_path(dir.path(), Mapping::RwUed));
    let mut bytes = read(&ved);
    bytes[..PAGE].copy_from_slice(&ued[..PAGE]);
    write(&ved, &bytes);
    assert_region_header_error(
        dir.path(),
        &ved,
        "region holds rw-ued pages, expected rw-ved",
    );
}

/// Page 0 is "region header (first 64 bytes of page 0, rest zero)": damage after the header is
/// caught by the zero check.
#[test]
fn damage_after_the_region_header_in_page_0_is_a_corrupt_page_0() {
    let (dir, _) = fixture();
    let path = region_path(dir.path(), Mapping::RwVed);
    flip_bit(&path, 1000, 0);
    for err in open_fails(dir.path()) {
        assert!(
            matches!(&err, StoreError::CorruptPage { path: p, page: 0, .. } if *p == path),
            "{err:?}"
        );
    }
}

#[test]
fn a_missing_region_file_is_not_a_store() {
    let (dir, _) = fixture();
    let path = region_path(dir.path(), Mapping::RxUedVed);
    std::fs::remove_file(&path).unwrap();
    for err in open_fails(dir.path()) {
        assert!(
            matches!(&err, StoreError::NotAStore { path: p, .. } if p == dir.path()),
            "{err:?}"
        );
        assert_message(
            &err,
            dir.path(),
            &[
                "is not a tandem store",
                &format!("region file {} is missing", path.display()),
            ],
        );
    }
    assert!(!path.exists(), "the missing file must not be recreated");
}

#[test]
fn a_superblock_with_both_copies_damaged_is_a_corrupt_file() {
    let (dir, _) = fixture();
    let path = dir.path().join("superblock");
    flip_bit(&path, 9, 0);
    flip_bit(&path, 4096 + 9, 0);
    for err in open_fails(dir.path()) {
        assert!(
            matches!(&err, StoreError::CorruptFile { path: p, .. } if *p == path),
            "{err:?}"
        );
        assert!(err.is_corruption());
        assert_message(&err, &path, &["neither superblock copy is valid"]);
    }
}

#[test]
fn a_truncated_superblock_is_truncated() {
    let (dir, _) = fixture();
    let path = dir.path().join("superblock");
    let bytes = read(&path);
    write(&path, &bytes[..4096]);
    for err in open_fails(dir.path()) {
        assert!(
            matches!(&err, StoreError::Truncated { path: p, .. } if *p == path),
            "{err:?}"
        );
        assert_message(&err, &path, &["4096 bytes"]);
    }
}

/// The superblock keeps two copies; the current one (higher sequence number) is damaged.
/// The older copy names slot 2, and the write-ahead log still holds the complete log of slot 3,
/// so opening completes slot 3 again: the store opens at the last committed slot.
#[test]
fn a_superblock_whose_current_copy_is_damaged_opens_at_the_last_slot_through_the_wal() {
    let (dir, model) = fixture();
    let path = dir.path().join("superblock");
    let bytes = read(&path);
    let (current, older) = superblock_copies(&bytes);
    assert_eq!(u64_at(&bytes, current + 24), LAST_SLOT);
    assert_eq!(u64_at(&bytes, older + 24), LAST_SLOT - 1);
    flip_bit(&path, current + 30, 2);
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.committed_slot(), Some(LAST_SLOT));
    assert_eq!(store.recovered_slot(), Some(LAST_SLOT));
    assert_matches_model(&store, &model, "after recovery");
    drop(store);

    // Damage to the older copy is simply not needed.
    let (dir, model) = fixture();
    let path = dir.path().join("superblock");
    flip_bit(&path, older + 30, 2);
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.committed_slot(), Some(LAST_SLOT));
    assert_eq!(store.recovered_slot(), None);
    assert_matches_model(&store, &model, "with the older copy damaged");
}

/// A superblock (checksum and all) that records no page for a region — no commit writes one:
/// a corrupt file naming the superblock, and nothing cut (open cut the region file to nothing,
/// then failed to map it).
#[test]
fn a_superblock_recording_no_page_for_a_region_is_a_corrupt_file() {
    let (dir, _) = fixture();
    let path = dir.path().join("superblock");
    let mut bytes = read(&path);
    let (current, _) = superblock_copies(&bytes);
    // The counts follow the slot: four u32 page counts, four u64 account counts, then the
    // checksum of everything before it.
    bytes[current + 32..current + 36].copy_from_slice(&0u32.to_le_bytes());
    let end = current + 32 + 48;
    let sum = xxhash_rust::xxh3::xxh3_64(&bytes[current..end]);
    bytes[end..end + 8].copy_from_slice(&sum.to_le_bytes());
    write(&path, &bytes);
    for err in open_fails(dir.path()) {
        assert!(
            matches!(&err, StoreError::CorruptFile { path: p, .. } if *p == path),
            "{err:?}"
        );
        assert_message(&err, &path, &["records no page for"]);
    }
}

/// Two faults at once: the current superblock copy (slot 4's, a commit that grew a region)
/// is damaged and the log of slot 4 is torn. The older copy names slot 3, but pages slot 4
/// wrote in place are there: the open refuses the store — and changes no file before it does
/// (it cut the pages slot 4 grew the region by first, and with them what a repair would need).
#[test]
fn a_damaged_superblock_with_a_torn_wal_is_refused_without_cutting_any_page() {
    let (dir, model) = fixture();
    let region = region_path(dir.path(), Mapping::RwUed);
    let before = read(&region).len();
    let mut store = Store::open(dir.path()).unwrap();
    let mut rng = SplitMix::new(44);
    let mut changes = SlotChanges::new();
    // Updates in place of accounts slot 3 left (pages of slot 4 inside the recorded ones)…
    for account in model
        .values()
        .filter(|a| a.mapping == Mapping::RwUed)
        .take(50)
    {
        let mut changed = account.clone();
        changed.lamports ^= 1;
        changes.load(changed);
    }
    // …and enough new accounts to grow the region.
    for _ in 0..2_000 {
        changes.load(rng.account(Mapping::RwUed, 300));
    }
    store.commit(LAST_SLOT + 1, changes).unwrap();
    drop(store);
    assert!(read(&region).len() > before, "slot 4 grew the region");
    let path = dir.path().join("superblock");
    let bytes = read(&path);
    let (current, _) = superblock_copies(&bytes);
    assert_eq!(u64_at(&bytes, current + 24), LAST_SLOT + 1);
    flip_bit(&path, current + 30, 2);
    let wal = dir.path().join("wal");
    let log = read(&wal);
    write(&wal, &log[..wal_log_len(&log) / 2]);
    for err in open_fails(dir.path()) {
        assert!(err.is_corruption(), "{err}");
        assert_message(&err, &region, &["written by slot 4"]);
    }
}

// ---------------------------------------------------------------------------------------------
// Torn write-ahead logs
// ---------------------------------------------------------------------------------------------

/// Length of the log at the start of a WAL file: the 96-byte header and the body it announces.
/// (The file may be longer: a shorter log overwrites the start of an earlier, longer one.)
fn wal_log_len(wal: &[u8]) -> usize {
    96 + u64_at(wal, 24) as usize
}

/// Opens a store whose WAL was tampered with: it must open at `LAST_SLOT` with the fixture's
/// contents, and change no file.
fn assert_opens_at_last_slot_unchanged(dir: &Path, model: &Model) {
    let before = files(dir);
    let store = Store::open(dir).unwrap();
    assert_eq!(store.committed_slot(), Some(LAST_SLOT));
    assert_eq!(store.recovered_slot(), None);
    assert_matches_model(&store, model, "with a torn WAL");
    drop(store);
    assert_files_unchanged(dir, &before);
    let report = Store::check(dir).unwrap();
    assert_eq!(report.committed_slot, Some(LAST_SLOT));
    assert_eq!(report.recovered_slot, None);
}

#[test]
fn garbage_appended_to_the_wal_is_ignored() {
    let (dir, model) = fixture();
    let path = dir.path().join("wal");
    let mut bytes = read(&path);
    assert!(
        bytes.len() > 96,
        "the WAL should hold the log of slot {LAST_SLOT}"
    );
    bytes.extend(SplitMix::new(7).bytes(5000));
    write(&path, &bytes);
    assert_opens_at_last_slot_unchanged(dir.path(), &model);
}

#[test]
fn a_wal_with_a_flipped_byte_is_ignored() {
    let (fixture_dir, model) = fixture();
    let log_len = wal_log_len(&read(&fixture_dir.path().join("wal")));
    for at in [3usize, 20, 60, 95, 96, 100, log_len / 2, log_len - 1] {
        let dir = clone_store(fixture_dir.path());
        let path = dir.path().join("wal");
        flip_bit(&path, at, 5);
        assert_opens_at_last_slot_unchanged(dir.path(), &model);
    }
}

/// Commits slot 4 (in-place updates only, so no region file grows) on a copy of the fixture and
/// returns the WAL that commit wrote, and the accounts after it.
fn wal_of_slot_4(dir: &Path, model: &Model) -> (Vec<u8>, Model) {
    let copy = clone_store(dir);
    let mut store = Store::open(copy.path()).unwrap();
    let mut keys: Vec<Pubkey> = model
        .values()
        .filter(|a| !a.executable)
        .map(|a| a.pubkey)
        .collect();
    keys.sort();
    let mut after = model.clone();
    let mut changes = SlotChanges::new();
    for k in keys.iter().step_by(9) {
        let mut a = model[k].clone();
        a.lamports = a.lamports.wrapping_add(1);
        for b in &mut a.data {
            *b = !*b;
        }
        let domain = if a.mapping == Mapping::RwVed {
            Domain::Ved
        } else {
            Domain::Ued
        };
        store
            .view(domain)
            .stage_write(&mut changes, a.clone())
            .unwrap();
        after.insert(*k, a);
    }
    store.commit(LAST_SLOT + 1, changes).unwrap();
    drop(store);
    for mapping in Mapping::ALL {
        assert_eq!(
            read(&region_path(dir, mapping)).len(),
            read(&region_path(copy.path(), mapping)).len(),
            "slot 4 must not grow {mapping}"
        );
    }
    (read(&copy.path().join("wal")), after)
}

#[test]
fn a_complete_wal_of_a_later_slot_is_replayed() {
    // The control case for the torn logs below: a crash after the log of slot 4 was fsynced.
    let (dir, model) = fixture();
    let (wal, after) = wal_of_slot_4(dir.path(), &model);
    write(&dir.path().join("wal"), &wal);
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.committed_slot(), Some(LAST_SLOT + 1));
    assert_eq!(store.recovered_slot(), Some(LAST_SLOT + 1));
    assert_matches_model(&store, &after, "after replaying slot 4");
    drop(store);
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.recovered_slot(), None);
    assert_matches_model(&store, &after, "reopened after replaying slot 4");
}

#[test]
fn a_region_shorter_than_the_pages_its_pending_log_records_is_refused_changing_nothing() {
    // Slot 4 adds a 2 MiB account, growing rw-ued (grown and synced before its log is written);
    // its log, beside the fixture's shorter rw-ued file, is damage: open refuses it, naming
    // the file, and writes nothing (it grew the file and rewrote the superblock, then failed).
    let (dir, _) = fixture();
    let copy = clone_store(dir.path());
    let mut store = Store::open(copy.path()).unwrap();
    let mut changes = SlotChanges::new();
    let big = Account {
        pubkey: Pubkey([0xB1; 32]),
        lamports: 1,
        owner: Pubkey([0; 32]),
        executable: false,
        data: vec![7; 2 << 20],
        mapping: Mapping::RwUed,
    };
    store
        .view(Domain::Ued)
        .stage_write(&mut changes, big)
        .unwrap();
    store.commit(LAST_SLOT + 1, changes).unwrap();
    drop(store);
    let path = region_path(dir.path(), Mapping::RwUed);
    assert!(read(&path).len() < read(&region_path(copy.path(), Mapping::RwUed)).len());
    write(&dir.path().join("wal"), &read(&copy.path().join("wal")));
    for err in open_fails(dir.path()) {
        assert!(
            matches!(&err, StoreError::Truncated { path: p, .. } if *p == path),
            "{err:?}"
        );
        assert_message(&err, &path, &["the log of slot 4 records"]);
    }
}

#[test]
fn grown_region_files_have_their_blocks_allocated() {
    // So that a full disk is an error when the file grows, before the commit's log, not when
    // the commit writes the new pages after it: one small account grows rw-ued by 64 pages, of
    // which it writes one.
    use std::os::unix::fs::MetadataExt;
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::create(dir.path()).unwrap();
    let mut changes = SlotChanges::new();
    changes.load(Account {
        pubkey: Pubkey([0xB2; 32]),
        lamports: 1,
        owner: Pubkey([0; 32]),
        executable: false,
        data: vec![1; 10],
        mapping: Mapping::RwUed,
    });
    store.commit(1, changes).unwrap();
    let meta = std::fs::metadata(region_path(dir.path(), Mapping::RwUed)).unwrap();
    assert!(meta.len() > 2 * PAGE as u64, "it grew");
    assert!(
        meta.blocks() * 512 >= meta.len(),
        "{} of {} bytes allocated",
        meta.blocks() * 512,
        meta.len()
    );
}

#[test]
fn a_torn_wal_of_a_later_slot_is_ignored_and_the_store_opens_at_the_last_slot() {
    let (fixture_dir, model) = fixture();
    let (wal, _) = wal_of_slot_4(fixture_dir.path(), &model);
    let log_len = wal_log_len(&wal);
    let torn: Vec<(&str, Vec<u8>)> = vec![
        ("cut in the body", wal[..log_len - 1].to_vec()),
        ("cut after the header", wal[..96].to_vec()),
        ("cut in the header", wal[..50].to_vec()),
        ("a flipped byte in the header", {
            let mut w = wal.clone();
            w[12] ^= 0x10;
            w
        }),
        ("a flipped last byte", {
            let mut w = wal.clone();
            w[log_len - 1] ^= 0x80;
            w
        }),
        ("a flipped byte in the body", {
            let mut w = wal.clone();
            let at = 96 + (log_len - 96) / 2;
            w[at] ^= 0x01;
            w
        }),
    ];
    for (what, bytes) in torn {
        let dir = clone_store(fixture_dir.path());
        write(&dir.path().join("wal"), &bytes);
        let before = files(dir.path());
        let store = Store::open(dir.path())
            .unwrap_or_else(|e| panic!("a WAL with {what} must be ignored: {e}"));
        assert_eq!(store.committed_slot(), Some(LAST_SLOT), "{what}");
        assert_eq!(store.recovered_slot(), None, "{what}");
        assert_matches_model(&store, &model, what);
        drop(store);
        assert_files_unchanged(dir.path(), &before);
    }
}

#[test]
fn a_missing_wal_is_not_a_store_naming_the_wal() {
    let (dir, _) = fixture();
    let path = dir.path().join("wal");
    std::fs::remove_file(&path).unwrap();
    for err in open_fails(dir.path()) {
        assert!(
            matches!(&err, StoreError::NotAStore { path: p, .. } if *p == dir.path()),
            "{err:?}"
        );
        assert_message(&err, &path, &["write-ahead log", "is missing"]);
    }
    assert!(!path.exists(), "the missing WAL must not be recreated");
}

/// A write-ahead log with correct checksums, for `slot`, holding `entries`
/// (`(region tag, page, offset, bytes)`) and the store counts `counts` (the 48 bytes the
/// superblock holds).
fn craft_wal(slot: u64, entries: &[(u8, u32, u16, Vec<u8>)], counts: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    for (region, page, offset, bytes) in entries {
        body.push(*region);
        body.extend_from_slice(&[0; 3]);
        body.extend_from_slice(&page.to_le_bytes());
        body.extend_from_slice(&offset.to_le_bytes());
        body.extend_from_slice(&(bytes.len() as u16).to_le_bytes());
        body.extend_from_slice(bytes);
    }
    let mut wal = Vec::with_capacity(96 + body.len());
    wal.extend_from_slice(b"TNDMWAL1");
    wal.extend_from_slice(&slot.to_le_bytes());
    wal.extend_from_slice(&(entries.len() as u64).to_le_bytes());
    wal.extend_from_slice(&(body.len() as u64).to_le_bytes());
    wal.extend_from_slice(&xxhash_rust::xxh3::xxh3_64(&body).to_le_bytes());
    assert_eq!(counts.len(), 48);
    wal.extend_from_slice(counts);
    let sum = xxhash_rust::xxh3::xxh3_64(&wal);
    wal.extend_from_slice(&sum.to_le_bytes());
    assert_eq!(wal.len(), 96);
    wal.extend_from_slice(&body);
    wal
}

/// The counts (48 bytes) of the current superblock copy.
fn current_counts(dir: &Path) -> Vec<u8> {
    let sb = read(&dir.join("superblock"));
    let (current, _) = superblock_copies(&sb);
    sb[current + 32..current + 80].to_vec()
}

#[test]
fn a_crafted_wal_that_replays_correctly_opens_at_its_slot() {
    // Control for the broken logs below: the hand-made format is the store's own. The entry
    // rewrites the lamports of the first record of a cell page, and the page's checksum.
    let (dir, model) = fixture();
    let path = region_path(dir.path(), Mapping::RwUed);
    let mut bytes = read(&path);
    let page = some_cell_page(&bytes);
    let (at, _, _) = first_record(&bytes, page);
    let pubkey = pubkey_at(&bytes, at);
    bytes[at + 64..at + 72].copy_from_slice(&4242u64.to_le_bytes());
    bytes[page * PAGE + 32..page * PAGE + 40].copy_from_slice(&(LAST_SLOT + 1).to_le_bytes());
    reseal(&mut bytes, page);
    let image = bytes[page * PAGE..(page + 1) * PAGE].to_vec();
    let wal = craft_wal(
        LAST_SLOT + 1,
        &[(Mapping::RwUed.tag(), page as u32, 0, image)],
        &current_counts(dir.path()),
    );
    write(&dir.path().join("wal"), &wal);
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.recovered_slot(), Some(LAST_SLOT + 1));
    let mut after = model.clone();
    after.get_mut(&pubkey).unwrap().lamports = 4242;
    assert_matches_model(&store, &after, "after the crafted log");
}

/// Opening the store in `dir` fails (changing nothing) with a corrupt-file error that names its
/// write-ahead log and says each of `parts`.
fn assert_corrupt_wal(dir: &Path, parts: &[&str]) {
    let wal_path = dir.join("wal");
    for err in open_fails(dir) {
        assert!(
            matches!(&err, StoreError::CorruptFile { path: p, .. } if *p == wal_path),
            "{err:?}"
        );
        assert_message(&err, &wal_path, parts);
    }
}

/// A complete log with an entry for a region that does not exist is corruption of the log, and
/// the error names the log by its full path.
#[test]
fn a_complete_wal_with_an_entry_for_an_invalid_region_is_a_corrupt_file_naming_the_wal() {
    let (dir, _) = fixture();
    let wal_path = dir.path().join("wal");
    let wal = craft_wal(
        LAST_SLOT + 1,
        &[(9, 1, 64, vec![0xEE; 16])],
        &current_counts(dir.path()),
    );
    write(&wal_path, &wal);
    assert_corrupt_wal(dir.path(), &["invalid mapping tag 9"]);
}

/// A log whose counts shrink a region — pages fewer than the last commit's, its accounts none —
/// lies (a region never shrinks): taken up, open cut the region's file to one page and opened
/// with every account of the region gone, without a word.
#[test]
fn a_complete_wal_that_shrinks_a_region_is_a_corrupt_file_and_cuts_nothing() {
    let (dir, _) = fixture();
    let mut counts = current_counts(dir.path());
    let ued = usize::from(Mapping::RwUed.tag() - 1);
    counts[ued * 4..ued * 4 + 4].copy_from_slice(&1u32.to_le_bytes());
    counts[16 + ued * 8..16 + ued * 8 + 8].copy_from_slice(&0u64.to_le_bytes());
    write(
        &dir.path().join("wal"),
        &craft_wal(LAST_SLOT + 1, &[], &counts),
    );
    assert_corrupt_wal(dir.path(), &["fewer than the", "a region never shrinks"]);
}

/// Replay checks every entry before writing any, so the valid entries before an invalid one are
/// not written: a failed open changes nothing.
#[test]
fn a_complete_wal_with_an_invalid_entry_changes_no_file_before_failing() {
    let (dir, _) = fixture();
    let path = region_path(dir.path(), Mapping::RwVed);
    let page = some_cell_page(&read(&path)) as u32;
    let wal = craft_wal(
        LAST_SLOT + 1,
        &[
            (Mapping::RwVed.tag(), page, 64, vec![0xEE; 16]),
            (9, 1, 64, vec![0xEE; 16]),
        ],
        &current_counts(dir.path()),
    );
    write(&dir.path().join("wal"), &wal);
    for err in open_fails(dir.path()) {
        assert!(matches!(&err, StoreError::CorruptFile { .. }), "{err:?}");
        assert!(err.to_string().contains("invalid mapping tag 9"), "{err}");
    }
}

/// A complete log whose header announces more entries than its body holds (here 2^64 − 1: an
/// allocation of that many aborted the process) is a corrupt file naming the log.
#[test]
fn a_complete_wal_announcing_more_entries_than_it_holds_is_a_corrupt_file() {
    let (dir, _) = fixture();
    let wal_path = dir.path().join("wal");
    let page = some_cell_page(&read(&region_path(dir.path(), Mapping::RwVed))) as u32;
    let mut wal = craft_wal(
        LAST_SLOT + 1,
        &[(Mapping::RwVed.tag(), page, 64, vec![0xEE; 16])],
        &current_counts(dir.path()),
    );
    wal[16..24].copy_from_slice(&u64::MAX.to_le_bytes());
    let sum = xxhash_rust::xxh3::xxh3_64(&wal[..88]);
    wal[88..96].copy_from_slice(&sum.to_le_bytes());
    write(&wal_path, &wal);
    let before = files(dir.path());
    assert_corrupt_wal(dir.path(), &["header says 18446744073709551615 entries"]);
    assert_files_unchanged(dir.path(), &before);
}

/// A complete log that writes a page past those it says the region has after the commit is a
/// corrupt file naming the log, and grows no file (page 2^32 − 1 grew the region to 16 TiB).
#[test]
fn a_complete_wal_writing_past_the_pages_it_records_is_a_corrupt_file() {
    let (dir, _) = fixture();
    let wal_path = dir.path().join("wal");
    let counts = current_counts(dir.path());
    let index = Mapping::RwUed.tag() as usize - 1;
    let pages = u32::from_le_bytes(counts[index * 4..index * 4 + 4].try_into().unwrap());
    for page in [pages, u32::MAX] {
        let wal = craft_wal(
            LAST_SLOT + 1,
            &[(Mapping::RwUed.tag(), page, 64, vec![0xEE; 16])],
            &counts,
        );
        write(&wal_path, &wal);
        let before = files(dir.path());
        let page = format!("writes page {page} of rw-ued, which has {pages} pages");
        assert_corrupt_wal(dir.path(), &[&page]);
        assert_files_unchanged(dir.path(), &before);
    }
}
