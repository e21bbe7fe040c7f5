//! Signatures bind signer, domain, chain id and every byte of the payload.

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use vigil_core::encoding::{decode, encode};
use vigil_core::{Keypair, Signed, SignedTx, Verifiable, verify_batch};

use crate::encoding::{alert, chain_id, signed_tx};

proptest! {
    #[test]
    fn a_signature_for_one_chain_does_not_verify_under_another(
        tx in signed_tx(), other in chain_id()
    ) {
        prop_assume!(other != tx.tx.chain_id);
        let mut moved = tx.clone();
        moved.tx.chain_id = other.clone();
        prop_assert!(moved.verify().is_err());
    }

    #[test]
    fn an_alert_signed_for_one_chain_fails_on_another(
        alert in alert(), seed in any::<[u8; 32]>(), a in chain_id(), b in chain_id()
    ) {
        prop_assume!(a != b);
        let signed = Signed::sign(alert, a.clone(), &Keypair::from_seed(&seed));
        prop_assert!(signed.verify(&a).is_ok());
        prop_assert!(signed.verify(&b).is_err());
        let mut relabelled = signed.clone();
        relabelled.chain_id = b.clone();
        prop_assert!(relabelled.verify(&b).is_err());
    }

    #[test]
    fn any_changed_byte_breaks_verification(tx in signed_tx(), pick in any::<prop::sample::Index>(), flip in 1u8..=255) {
        let mut bytes = encode(&tx);
        let i = pick.index(bytes.len());
        bytes[i] ^= flip;
        // Either the bytes no longer decode, or they decode to a transaction that fails to verify.
        if let Ok(changed) = decode::<SignedTx>(&bytes) {
            prop_assert!(changed.verify().is_err(), "byte {} changed yet the signature verified", i);
        }
    }

    #[test]
    fn another_key_cannot_sign_for_a_signer(tx in signed_tx(), seed in any::<[u8; 32]>()) {
        let impostor = Keypair::from_seed(&seed);
        prop_assume!(impostor.account_id() != tx.tx.signer);
        let forged = SignedTx { signature: impostor.sign_raw(&tx.signed_message()), tx: tx.tx };
        prop_assert!(forged.verify().is_err());
    }
}

#[test]
fn batch_verification_accepts_good_and_names_the_first_bad_item() {
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let mut txs: Vec<SignedTx> =
        (0..64).map(|_| signed_tx().new_tree(&mut runner).unwrap().current()).collect();
    assert_eq!(verify_batch(&txs), Ok(()));
    txs[17].signature.0[3] ^= 1;
    txs[40].signature.0[9] ^= 1;
    assert_eq!(verify_batch(&txs), Err(vigil_core::SignatureError::BatchItem { index: 17 }));
    assert_eq!(verify_batch::<SignedTx>(&[]), Ok(()));
}

#[test]
fn tx_domain_and_alert_domain_do_not_mix() {
    // The same bytes signed as an alert are not a valid transaction signature.
    let key = Keypair::from_seed(&[9; 32]);
    let chain: vigil_core::ChainId = "vigil-test".parse().unwrap();
    let tx = vigil_core::Tx {
        chain_id: chain.clone(),
        signer: key.account_id(),
        nonce: 0,
        body: vigil_core::TxBody::Bond { amount: vigil_core::Amount(5) },
    };
    let raw = vigil_core::encoding::signing_message("vigil/alert/v1", &chain, &encode(&tx));
    let wrong = SignedTx { signature: key.sign_raw(&raw), tx };
    assert!(wrong.verify().is_err());
}
