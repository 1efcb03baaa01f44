//! Every verifier against ed25519-dalek's verify_strict itself, over every class of input SPEC §2
//! and issue #4 name: valid signatures, wrong message or key, flipped bits, non-canonical and
//! out-of-range S, non-canonical A and R, encodings off the curve, the eight small-order points as
//! A and as R, mixed-order A and R (signed so that some pass the cofactorless equation), and the
//! identity. The oracle decides; the test asserts agreement (and, where the answer is certain,
//! the answer too, so the oracle itself is checked).

mod common;

use common::bytes;
use common::signatures::*;
use curve25519_dalek::constants::{ED25519_BASEPOINT_POINT as B, EIGHT_TORSION};
use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use ed25519_dalek::SigningKey;
use tandem_kernels::sigverify::cache::SignerCache;
use tandem_kernels::sigverify::{cpu, prepare_signers, reference, verify_batch_cpu, verify_many};
use tandem_kernels::{Backend, Platform};

/// Asserts every verifier agrees with the oracle on this input, and returns the oracle's answer:
/// the portable verifier alone, and every CPU platform's verifier in batches that mix the input
/// with valid signatures (a full group of eight lanes and one left over, and a padded group).
fn agree(sig: &[u8; 64], key: &[u8; 32], msg: &[u8], what: &str) -> bool {
    let expected = reference::verify(sig, key, msg);
    assert_eq!(
        cpu::verify(sig, key, msg, None),
        expected,
        "{what}: uncached"
    );
    // First sighting, second (builds the table), third (uses it).
    let cache = SignerCache::new(4);
    for round in 0..3 {
        assert_eq!(
            cpu::verify(sig, key, msg, Some(&cache)),
            expected,
            "{what}: cached, round {round}"
        );
    }
    let filler_key = signing_key(77);
    let filler = (
        sign(&filler_key, b"filler"),
        filler_key.verifying_key().to_bytes(),
    );
    for platform in tandem_kernels::testing::platforms_here() {
        for len in [9, 3] {
            let input = |i: usize| i.is_multiple_of(2);
            let sigs: Vec<[u8; 64]> = (0..len)
                .map(|i| if input(i) { *sig } else { filler.0 })
                .collect();
            let keys: Vec<[u8; 32]> = (0..len)
                .map(|i| if input(i) { *key } else { filler.1 })
                .collect();
            let msgs: Vec<&[u8]> = (0..len)
                .map(|i| if input(i) { msg } else { b"filler".as_slice() })
                .collect();
            let want: Vec<u8> = (0..len)
                .map(|i| if input(i) { u8::from(expected) } else { 1 })
                .collect();
            let cache = SignerCache::new(4);
            for round in 0..4 {
                let mut results = vec![9u8; len];
                let cache = (round > 0).then_some(&cache);
                verify_many(platform, &sigs, &keys, &msgs, &mut results, cache);
                assert_eq!(
                    results, want,
                    "{what}: {platform}, {len} in a batch, round {round}"
                );
            }
        }
    }
    expected
}

#[test]
fn valid_signatures_over_messages_of_0_to_2000_bytes() {
    for i in 0..60u64 {
        let key = signing_key(i);
        let msg = bytes(i + 1000, (i as usize * 37) % 2001);
        let sig = sign(&key, &msg);
        assert!(
            agree(&sig, key.verifying_key().as_bytes(), &msg, "valid"),
            "message {i}"
        );
    }
}

#[test]
fn wrong_message_wrong_key_and_flipped_bits_are_rejected() {
    let key = signing_key(1);
    let other = signing_key(2);
    let msg = b"vote for slot 42".to_vec();
    let sig = sign(&key, &msg);
    let pk = *key.verifying_key().as_bytes();
    assert!(!agree(&sig, &pk, b"vote for slot 43", "wrong message"));
    assert!(!agree(
        &sig,
        other.verifying_key().as_bytes(),
        &msg,
        "wrong key"
    ));
    for bit in [0usize, 1, 7, 100, 200, 254, 255] {
        let mut r = sig;
        r[bit / 8] ^= 1 << (bit % 8);
        assert!(!agree(&r, &pk, &msg, &format!("R bit {bit}")));
        let mut s = sig;
        s[32 + bit / 8] ^= 1 << (bit % 8);
        assert!(!agree(&s, &pk, &msg, &format!("S bit {bit}")));
        let mut a = pk;
        a[bit / 8] ^= 1 << (bit % 8);
        agree(&sig, &a, &msg, &format!("A bit {bit}"));
    }
}

#[test]
fn s_must_be_canonical() {
    let key = signing_key(3);
    let msg = b"canonical S";
    let sig = sign(&key, msg);
    let pk = *key.verifying_key().as_bytes();
    for (bad, what) in with_bad_s(&sig) {
        assert!(!agree(&bad, &pk, msg, what));
    }
}

#[test]
fn mixed_order_r_and_a_pass_exactly_when_the_torsion_cancels() {
    let mut passed = 0;
    for (case, cancels) in mixed_order_r_and_a(64) {
        let what = format!("mixed R and A, message {:?}", case.msg);
        assert_eq!(
            agree(&case.sig, &case.key, &case.msg, &what),
            cancels,
            "{what}"
        );
        passed += usize::from(cancels);
    }
    assert!(passed > 0, "some cancel");
}

#[test]
fn the_cache_never_serves_a_small_order_key() {
    // R = [S]B verifies under the identity in the cofactorless equation; the small-order check
    // refuses it. A cached key skips that check, so no small-order key may be cached, whoever
    // asks the cache to observe it.
    let identity = EdwardsPoint::default().compress().to_bytes();
    let s = Scalar::from(5u64);
    let mut sig = [0u8; 64];
    sig[..32].copy_from_slice((B * s).compress().as_bytes());
    sig[32..].copy_from_slice(s.as_bytes());
    assert!(!reference::verify(&sig, &identity, b"m"));
    let cache = SignerCache::new(4);
    cache.observe(&identity);
    cache.observe(&identity);
    assert!(cache.prepare(&identity).is_none(), "prepared");
    assert_eq!(
        prepare_signers(Platform::Portable, &cache, &[identity]),
        0,
        "prepared in a form"
    );
    assert!(cache.is_empty());
    assert!(
        !cpu::verify(&sig, &identity, b"m", Some(&cache)),
        "portable, cached"
    );
    for platform in tandem_kernels::testing::platforms_here() {
        let (sigs, keys, msgs) = (vec![sig; 9], vec![identity; 9], vec![b"m".as_slice(); 9]);
        let mut out = vec![9u8; 9];
        verify_many(platform, &sigs, &keys, &msgs, &mut out, Some(&cache));
        assert_eq!(out, vec![0; 9], "{platform}");
    }
}

#[test]
fn non_canonical_and_off_curve_encodings_of_a_and_r() {
    let key = signing_key(4);
    let msg = b"encodings";
    let sig = sign(&key, msg);
    let pk = *key.verifying_key().as_bytes();
    let mut found_noncanonical_point = 0;
    let mut found_off_curve = 0;
    for v in 0u8..19 {
        let mut small = [0u8; 32];
        small[0] = v;
        for sign in [false, true] {
            let canonical = encode_y(&small, sign);
            let non = encode_y(&p_plus(v), sign);
            // dalek reads y mod p: both decompress alike.
            let decomp = CompressedEdwardsY(non).decompress();
            assert_eq!(
                decomp.map(|p| p.compress()),
                CompressedEdwardsY(canonical)
                    .decompress()
                    .map(|p| p.compress())
            );
            if decomp.is_some() {
                found_noncanonical_point += 1;
            } else {
                found_off_curve += 1;
            }
            for enc in [canonical, non] {
                agree(&sig, &enc, msg, &format!("A = y {v} sign {sign}"));
                let mut r = sig;
                r[..32].copy_from_slice(&enc);
                assert!(!agree(&r, &pk, msg, &format!("R = y {v} sign {sign}")));
            }
        }
    }
    assert!(found_noncanonical_point > 0 && found_off_curve > 0);
    // A sign bit on x = 0: the identity (y = 1) and (0, -1) with the sign bit set.
    let mut one = [0u8; 32];
    one[0] = 1;
    agree(
        &sig,
        &encode_y(&one, true),
        msg,
        "A = identity with sign bit",
    );
    let mut r = sig;
    r[..32].copy_from_slice(&encode_y(&one, true));
    assert!(!agree(&r, &pk, msg, "R = identity with sign bit"));
}

#[test]
fn small_order_points_as_a_and_as_r() {
    let key = signing_key(5);
    let a = key.to_scalar();
    let pk = *key.verifying_key().as_bytes();
    let msg = b"torsion";
    for (i, t) in EIGHT_TORSION.iter().enumerate() {
        let t_bytes = t.compress().to_bytes();
        // As A, with signatures made for it with any secret: always rejected (small order).
        let (sig, _) = raw_sign(
            &Scalar::ONE,
            &t_bytes,
            &Scalar::from(7u64),
            &(B * Scalar::from(7u64)).compress().to_bytes(),
            msg,
        );
        assert!(!agree(&sig, &t_bytes, msg, &format!("A = torsion {i}")));
        // As R, with S = k·a: [S]B - [k]A is the identity, so only R = identity passes the
        // equation, and small order rejects even that.
        let (sig, _) = raw_sign(&a, &pk, &Scalar::ZERO, &t_bytes, msg);
        assert!(!agree(&sig, &pk, msg, &format!("R = torsion {i}")));
    }
}

#[test]
fn mixed_order_a_passes_exactly_when_the_cofactorless_equation_holds() {
    let a = Scalar::from_bytes_mod_order(bytes(6, 32).try_into().unwrap());
    let r = Scalar::from_bytes_mod_order(bytes(7, 32).try_into().unwrap());
    let r_bytes = (B * r).compress().to_bytes();
    let t8 = EIGHT_TORSION[1]; // of order 8
    let mixed: EdwardsPoint = B * a + t8;
    let key = mixed.compress().to_bytes();
    let (mut passed, mut failed) = (0, 0);
    for i in 0u64..200 {
        let msg = i.to_le_bytes();
        let (sig, k) = raw_sign(&a, &key, &r, &r_bytes, &msg);
        let holds = k.as_bytes()[0] % 8 == 0; // [k]T = O exactly when 8 divides k
        let ok = agree(&sig, &key, &msg, &format!("mixed A, message {i}"));
        assert_eq!(
            ok, holds,
            "message {i}: verify_strict accepts mixed-order A iff the equation holds"
        );
        if ok { passed += 1 } else { failed += 1 }
    }
    assert!(
        passed > 5 && failed > 100,
        "passed {passed}, failed {failed}"
    );
}

#[test]
fn mixed_order_r_and_the_identity() {
    let key = signing_key(8);
    let a = key.to_scalar();
    let pk = *key.verifying_key().as_bytes();
    let r = Scalar::from(99u64);
    for (i, t) in EIGHT_TORSION.iter().enumerate().skip(1) {
        let r_bytes = (B * r + t).compress().to_bytes();
        let (sig, _) = raw_sign(&a, &pk, &r, &r_bytes, b"mixed R");
        assert!(!agree(
            &sig,
            &pk,
            b"mixed R",
            &format!("mixed R with torsion {i}")
        ));
    }
    let identity = EdwardsPoint::default().compress().to_bytes();
    let (sig, _) = raw_sign(&a, &pk, &Scalar::ZERO, &identity, b"identity R");
    assert!(!agree(&sig, &pk, b"identity R", "R = identity"));
    let sig = sign(&key, b"identity A");
    assert!(!agree(&sig, &identity, b"identity A", "A = identity"));
}

#[test]
fn batches_over_the_cores_with_the_shared_cache_agree_with_the_oracle() {
    let keys: Vec<SigningKey> = (0..20).map(|i| signing_key(100 + i)).collect();
    let mut sigs = Vec::new();
    let mut pks = Vec::new();
    let mut msgs = Vec::new();
    for i in 0..300usize {
        let key = &keys[i % keys.len()];
        let msg = bytes(i as u64, i % 300);
        let mut sig = sign(key, &msg);
        if i % 7 == 0 {
            sig[40] ^= 4; // some invalid
        }
        sigs.push(sig);
        pks.push(*key.verifying_key().as_bytes());
        msgs.push(msg);
    }
    let msg_refs: Vec<&[u8]> = msgs.iter().map(|m| m.as_slice()).collect();
    // Fewer tables than signers (eviction happens), and room for all (whole batches of cached
    // signers share one inversion).
    for capacity in [8, 64] {
        let cache = SignerCache::new(capacity);
        for round in 0..3 {
            let mut results = vec![9u8; sigs.len()];
            verify_batch_cpu(&sigs, &pks, &msg_refs, &mut results, Some(&cache));
            for i in 0..sigs.len() {
                assert_eq!(
                    results[i],
                    u8::from(reference::verify(&sigs[i], &pks[i], &msgs[i])),
                    "capacity {capacity}, round {round}, signature {i}"
                );
            }
        }
        assert!(cache.len() <= capacity);
    }
    let mut results = vec![0u8; sigs.len()];
    tandem_kernels::ed25519_verify_batch(Backend::Auto, &sigs, &pks, &msg_refs, &mut results)
        .unwrap();
    assert_eq!(
        results.iter().filter(|&&r| r == 1).count(),
        300 - 300usize.div_ceil(7)
    );
}

#[test]
fn stage_verifiers_with_their_own_cache_and_device_agree_with_the_oracle() {
    // A pipeline stage's verifier: CPU work on the calling thread with its own signer cache (or
    // the process-wide one), GPU work on a device of its own (or the shared one).
    let keys: Vec<SigningKey> = (0..12).map(|i| signing_key(500 + i)).collect();
    let (mut sigs, mut pks, mut msgs) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..96usize {
        let key = &keys[i % keys.len()];
        let msg = bytes(7_000 + i as u64, 40 + i);
        let mut sig = sign(key, &msg);
        if i % 5 == 0 {
            sig[3] ^= 0x10;
        }
        sigs.push(sig);
        pks.push(*key.verifying_key().as_bytes());
        msgs.push(msg);
    }
    let refs: Vec<&[u8]> = msgs.iter().map(|m| m.as_slice()).collect();
    let oracle: Vec<u8> = (0..sigs.len())
        .map(|i| u8::from(reference::verify(&sigs[i], &pks[i], &msgs[i])))
        .collect();
    let check = |verifier: &tandem_kernels::Ed25519Verifier, what: &str| {
        for round in 0..3 {
            let mut results = vec![9u8; sigs.len()];
            verifier.verify(&sigs, &pks, &refs, &mut results).unwrap();
            assert_eq!(results, oracle, "{what}, round {round}");
        }
    };
    let own = tandem_kernels::Ed25519Verifier::dedicated(Backend::Cpu, 16);
    check(&own, "own cache");
    assert!(
        !own.cache().is_empty(),
        "its own cache took the recurring signers"
    );
    check(
        &tandem_kernels::Ed25519Verifier::shared(Backend::Cpu),
        "shared cache",
    );
    let gpu = tandem_kernels::Ed25519Verifier::dedicated(Backend::Gpu, 16);
    let mut probe = vec![0u8; 1];
    let found = gpu
        .verify(&sigs[..1], &pks[..1], &refs[..1], &mut probe)
        .map_err(|e| match e {
            tandem_kernels::KernelError::Gpu(g) => g,
        });
    if tandem_kernels::testing::gpu_or_skip("a stage verifier on its own device", found).is_some() {
        check(&gpu, "own GPU device");
    }
}

#[test]
fn random_mixed_batches_agree_with_the_oracle_on_every_platform() {
    let cases: Vec<Case> = (0..1_200).map(random_case).collect();
    let oracle: Vec<u8> = cases
        .iter()
        .map(|c| u8::from(reference::verify(&c.sig, &c.key, &c.msg)))
        .collect();
    let valid = oracle.iter().filter(|&&v| v == 1).count();
    assert!(valid > 400 && valid < 800, "{valid} valid: the classes mix");
    for platform in tandem_kernels::testing::platforms_here() {
        let cache = SignerCache::new(16);
        for cached in [false, true] {
            // Batches of 1 to 40 signatures: most not a multiple of the lane count.
            let mut start = 0;
            let mut round = 0u64;
            while start < cases.len() {
                let len = (1 + common::rand_u64(round) % 40) as usize;
                let batch = &cases[start..(start + len).min(cases.len())];
                let sigs: Vec<[u8; 64]> = batch.iter().map(|c| c.sig).collect();
                let keys: Vec<[u8; 32]> = batch.iter().map(|c| c.key).collect();
                let msgs: Vec<&[u8]> = batch.iter().map(|c| c.msg.as_slice()).collect();
                let mut results = vec![9u8; batch.len()];
                verify_many(
                    platform,
                    &sigs,
                    &keys,
                    &msgs,
                    &mut results,
                    cached.then_some(&cache),
                );
                assert_eq!(
                    results,
                    oracle[start..start + batch.len()],
                    "{platform}, cache {cached}, batch at {start}"
                );
                start += batch.len();
                round += 1;
            }
        }
        assert!(cache.stats().hits > 100, "{platform}: the cache was used");
    }
}

#[test]
fn prepared_signers_are_verified_with_their_tables_from_the_first_signature_on_every_platform() {
    // The random inputs' keys — forty recurring signers, and the off-curve, small-order and
    // mixed-order keys of the other classes — prepared before any signature is seen.
    let cases: Vec<Case> = (0..600).map(random_case).collect();
    let oracle: Vec<u8> = cases
        .iter()
        .map(|c| u8::from(reference::verify(&c.sig, &c.key, &c.msg)))
        .collect();
    let mut keys: Vec<[u8; 32]> = cases.iter().map(|c| c.key).collect();
    keys.sort_unstable();
    keys.dedup();
    let signers: Vec<[u8; 32]> = (0..40)
        .map(|seed| signing_key(seed).verifying_key().to_bytes())
        .collect();
    for platform in tandem_kernels::testing::platforms_here() {
        let cache = SignerCache::new(4_096);
        let prepared = prepare_signers(platform, &cache, &keys);
        assert!(
            prepared >= signers.len() && prepared < keys.len(),
            "{platform}: {prepared} of {} keys have a table, the signers among them, the small-order \
             and off-curve ones not",
            keys.len()
        );
        assert_eq!(cache.len(), prepared);
        let stats = cache.stats();
        assert_eq!(
            (stats.builds, stats.prepared),
            (prepared as u64, prepared as u64)
        );
        assert_eq!(
            prepare_signers(platform, &cache, &signers),
            signers.len(),
            "{platform}: prepared again"
        );
        assert_eq!(
            cache.stats().builds,
            stats.builds,
            "{platform}: nothing built twice"
        );

        // One signature under each signer, each its first: every one verified with its table.
        let first: Vec<&Case> = signers
            .iter()
            .map(|key| {
                cases
                    .iter()
                    .find(|c| c.key == *key)
                    .expect("each signer signs")
            })
            .collect();
        let sigs: Vec<[u8; 64]> = first.iter().map(|c| c.sig).collect();
        let msgs: Vec<&[u8]> = first.iter().map(|c| c.msg.as_slice()).collect();
        let mut results = vec![9u8; first.len()];
        verify_many(platform, &sigs, &signers, &msgs, &mut results, Some(&cache));
        let want: Vec<u8> = first
            .iter()
            .map(|c| u8::from(reference::verify(&c.sig, &c.key, &c.msg)))
            .collect();
        assert_eq!(results, want, "{platform}: first signatures");
        let after = cache.stats();
        assert!(
            after.hits >= want.iter().filter(|&&v| v == 1).count() as u64 && after.misses == 0,
            "{platform}: {after:?}"
        );

        // And the whole mix: the oracle's answers, no table built on the way.
        let sigs: Vec<[u8; 64]> = cases.iter().map(|c| c.sig).collect();
        let case_keys: Vec<[u8; 32]> = cases.iter().map(|c| c.key).collect();
        let msgs: Vec<&[u8]> = cases.iter().map(|c| c.msg.as_slice()).collect();
        let mut results = vec![9u8; cases.len()];
        verify_many(
            platform,
            &sigs,
            &case_keys,
            &msgs,
            &mut results,
            Some(&cache),
        );
        assert_eq!(results, oracle, "{platform}: the mix");
        assert_eq!(
            cache.stats().builds,
            stats.builds,
            "{platform}: built on the way"
        );
    }
}

#[cfg(target_arch = "x86_64")]
#[test]
fn each_platform_names_the_verifier_it_runs() {
    use tandem_kernels::sigverify::cpu_verifier;
    assert_eq!(cpu_verifier(Platform::Portable), "portable");
    let avx2 = std::is_x86_feature_detected!("avx2");
    let ifma =
        std::is_x86_feature_detected!("avx512f") && std::is_x86_feature_detected!("avx512ifma");
    if avx2 {
        assert_eq!(cpu_verifier(Platform::Avx2), "avx2");
    } else {
        tandem_kernels::say_skipped!(
            "AVX2 not supported on this CPU: the avx2 verifier's name check skipped"
        );
    }
    if !ifma {
        tandem_kernels::say_skipped!(
            "AVX-512 IFMA not supported on this CPU: the avx512-ifma verifier's name check skipped"
        );
    }
    if Platform::Avx512.is_supported() {
        let want = if ifma { "avx512-ifma" } else { "avx2" };
        assert_eq!(cpu_verifier(Platform::Avx512), want);
    }
}

#[test]
fn a_stage_opens_its_own_device_ahead_of_its_first_batch_on_the_gpu_backend_only() {
    use tandem_kernels::{AccountHasher, Ed25519Verifier};
    for backend in [Backend::Cpu, Backend::Auto] {
        let verifier = Ed25519Verifier::dedicated(backend, 4);
        let hasher = AccountHasher::dedicated(backend);
        verifier.open_device();
        hasher.open_device();
        assert!(
            !verifier.own_device_is_open() && !hasher.own_device_is_open(),
            "{backend:?}: no device before a batch asks for one"
        );
    }
    let verifier = Ed25519Verifier::dedicated(Backend::Gpu, 4);
    let hasher = AccountHasher::dedicated(Backend::Gpu);
    assert!(!verifier.own_device_is_open() && !hasher.own_device_is_open());
    let found = tandem_kernels::gpu::GpuContext::shared().map(|_| ());
    if tandem_kernels::testing::gpu_or_skip("a stage's own devices opened ahead", found).is_some() {
        // An empty batch asks for no device (the VED's verifier, asked every block, opened its
        // own inside the first block's vote).
        verifier.verify(&[], &[], &[], &mut []).unwrap();
        hasher.lthash_accounts(&[], &mut []).unwrap();
        assert!(!verifier.own_device_is_open() && !hasher.own_device_is_open());
        verifier.open_device();
        hasher.open_device();
        assert!(verifier.own_device_is_open(), "the verifier's device");
        assert!(hasher.own_device_is_open(), "the hasher's device");
    }
}
