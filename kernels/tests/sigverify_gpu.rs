//! The WGSL ed25519 verifier against ed25519-dalek, in one batch: valid signatures, wrong
//! messages, flipped bits, non-canonical S, small-order and mixed-order keys. Ignored by default:
//! on lavapipe one verification takes minutes (see `kernels/src/sigverify/gpu.rs`); run it on a
//! hardware GPU with `cargo test -p tandem-kernels --test sigverify_gpu -- --ignored`.

mod common;

use common::bytes;
use curve25519_dalek::constants::{ED25519_BASEPOINT_POINT as B, EIGHT_TORSION};
use curve25519_dalek::scalar::Scalar;
use ed25519_dalek::{Signer, SigningKey};
use sha2::{Digest, Sha512};
use tandem_kernels::sigverify::gpu::GpuEd25519;
use tandem_kernels::sigverify::reference;

#[test]
#[ignore = "needs a hardware GPU: minutes per signature on lavapipe"]
fn gpu_verifier_agrees_with_ed25519_dalek() {
    let gpu = GpuEd25519::shared().expect("a GPU adapter");
    let mut sigs = Vec::new();
    let mut keys = Vec::new();
    let mut msgs: Vec<Vec<u8>> = Vec::new();
    for i in 0..64u64 {
        let key = SigningKey::from_bytes(&bytes(i, 32).try_into().unwrap());
        let msg = bytes(i + 500, (i as usize * 31) % 1300);
        let mut sig = key.sign(&msg).to_bytes();
        match i % 8 {
            1 => sig[(i as usize * 7) % 64] ^= 1 << (i % 8),
            2 => sig[63] |= 0xF0,
            3 => sig[..32]
                .copy_from_slice(&EIGHT_TORSION[(i / 8) as usize % 8].compress().to_bytes()),
            _ => {}
        }
        sigs.push(sig);
        keys.push(*key.verifying_key().as_bytes());
        msgs.push(msg);
    }
    // Mixed-order keys, some passing the cofactorless equation.
    let a = Scalar::from_bytes_mod_order(bytes(9, 32).try_into().unwrap());
    let r = Scalar::from(1234u64);
    let r_bytes = (B * r).compress().to_bytes();
    let key = (B * a + EIGHT_TORSION[1]).compress().to_bytes();
    for i in 0..32u64 {
        let msg = i.to_le_bytes().to_vec();
        let k = Scalar::from_bytes_mod_order_wide(
            &Sha512::new()
                .chain_update(r_bytes)
                .chain_update(key)
                .chain_update(&msg)
                .finalize()
                .into(),
        );
        let mut sig = [0u8; 64];
        sig[..32].copy_from_slice(&r_bytes);
        sig[32..].copy_from_slice((r + k * a).as_bytes());
        sigs.push(sig);
        keys.push(key);
        msgs.push(msg);
    }
    let msg_refs: Vec<&[u8]> = msgs.iter().map(|m| m.as_slice()).collect();
    let mut results = vec![9u8; sigs.len()];
    gpu.verify_batch(&sigs, &keys, &msg_refs, &mut results)
        .expect("GPU verify");
    for i in 0..sigs.len() {
        assert_eq!(
            results[i],
            u8::from(reference::verify(&sigs[i], &keys[i], &msgs[i])),
            "signature {i}"
        );
    }
}
