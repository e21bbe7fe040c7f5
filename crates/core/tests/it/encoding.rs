//! Every payload round-trips through its canonical encoding and its JSON form.

use proptest::prelude::*;
use vigil_core::encoding::{decode, encode};
use vigil_core::{
    AccountId, Alert, AlertKind, Amount, B256, BountyProgram, BreakerPolicy, CallKind, Category,
    ContentId, DisclosureKey, Domain, Evidence, EvmAddress, EvmChainId, Indicator, Keypair,
    OnChainAction, ProposalAction, ProtocolId, ProtocolSpec, Report, SafeHarbor, Selector,
    Severity, Signed, SignedTx, Stance, Tx, TxBody, TxRef, VoteChoice,
};

pub fn chain_id() -> impl Strategy<Value = vigil_core::ChainId> {
    "[a-z][a-z0-9-]{0,20}".prop_map(|s| s.parse().unwrap())
}

fn address() -> impl Strategy<Value = EvmAddress> {
    any::<[u8; 20]>().prop_map(EvmAddress)
}

fn b256() -> impl Strategy<Value = B256> {
    any::<[u8; 32]>().prop_map(B256)
}

fn domain() -> impl Strategy<Value = Domain> {
    "[a-z0-9]{1,12}(-[a-z0-9]{1,5})?\\.[a-z]{2,6}".prop_map(|s| s.parse().unwrap())
}

pub fn indicator() -> impl Strategy<Value = Indicator> {
    prop_oneof![
        (proptest::option::of(any::<u64>()), address())
            .prop_map(|(c, address)| Indicator::Address { chain: c.map(EvmChainId), address }),
        b256().prop_map(Indicator::CodeHash),
        any::<[u8; 4]>().prop_map(|s| Indicator::Selector(Selector(s))),
        domain().prop_map(Indicator::Domain),
        (any::<u64>(), b256())
            .prop_map(|(c, hash)| Indicator::TxHash { chain: EvmChainId(c), hash }),
    ]
}

fn account() -> impl Strategy<Value = AccountId> {
    any::<[u8; 32]>().prop_map(|s| Keypair::from_seed(&s).account_id())
}

fn severity() -> impl Strategy<Value = Severity> {
    proptest::sample::select(Severity::ALL.to_vec())
}

fn evidence() -> impl Strategy<Value = Evidence> {
    prop_oneof![
        (any::<u64>(), b256()).prop_map(|(c, hash)| Evidence::Tx { chain: EvmChainId(c), hash }),
        "[a-z]{1,10}".prop_map(|p| Evidence::Url(format!("https://example.org/{p}"))),
    ]
}

/// A fingerprint of 4–12 arbitrary steps, or a rule file of arbitrary text.
pub fn detection() -> impl Strategy<Value = vigil_core::Detection> {
    use vigil_core::detection::{Flow, Step, Target};
    let kinds =
        vec![CallKind::Call, CallKind::StaticCall, CallKind::DelegateCall, CallKind::Create2];
    let step = (
        proptest::sample::select(kinds),
        any::<Option<[u8; 4]>>(),
        any::<u8>(),
        prop_oneof![
            Just(Target::Sender),
            Just(Target::Itself),
            any::<u8>().prop_map(Target::Up),
            Just(Target::Other),
            Just(Target::Nothing)
        ],
        any::<bool>(),
        any::<u8>(),
        proptest::sample::select(vec![Flow::None, Flow::In, Flow::Out, Flow::Between]),
    )
        .prop_map(|(kind, selector, depth, target, ok, value, flow)| Step {
            kind,
            selector: selector.map(Selector),
            depth,
            target,
            ok,
            value,
            flow,
        });
    prop_oneof![
        (proptest::collection::vec(step, 4..12), 60u8..=100).prop_map(|(steps, min_similarity)| {
            vigil_core::Detection::Fingerprint(vigil_core::Fingerprint { steps, min_similarity })
        }),
        "\\PC{1,200}".prop_map(|source| vigil_core::Detection::Rules { source }),
    ]
}

pub fn report() -> impl Strategy<Value = Report> {
    (
        proptest::collection::vec(indicator(), 1..6),
        severity(),
        proptest::sample::select(Category::ALL.to_vec()),
        "\\PC{1,80}",
        proptest::collection::vec(evidence(), 0..3),
        proptest::collection::vec("[a-z]{1,12}", 0..3),
        proptest::collection::vec(detection(), 0..3),
        proptest::collection::vec(any::<[u8; 32]>().prop_map(ContentId), 0..2),
    )
        .prop_map(
            |(
                indicators,
                severity,
                category,
                summary,
                evidence,
                affected_protocols,
                detection,
                revokes,
            )| {
                Report {
                    indicators,
                    severity,
                    category,
                    summary,
                    evidence,
                    affected_protocols,
                    detection,
                    revokes,
                }
            },
        )
}

fn protocol_id() -> impl Strategy<Value = ProtocolId> {
    "[a-z][a-z0-9-]{0,20}".prop_map(|s| s.parse().unwrap())
}

fn protocol_spec() -> impl Strategy<Value = ProtocolSpec> {
    (
        protocol_id(),
        "\\PC{1,30}",
        any::<u64>(),
        proptest::collection::vec(address(), 1..4),
        proptest::collection::vec(account(), 1..4),
        any::<u8>(),
        any::<u64>(),
        (
            severity(),
            0u8..=100,
            proptest::collection::vec(account(), 0..3),
            address(),
            proptest::collection::vec(any::<u8>(), 0..8),
        ),
    )
        .prop_map(
            |(
                id,
                name,
                chain,
                contracts,
                guardians,
                threshold,
                value,
                (min_severity, min_confidence, monitors, target, calldata),
            )| {
                ProtocolSpec {
                    id,
                    name,
                    chain: EvmChainId(chain),
                    contracts,
                    guardians,
                    threshold,
                    protected_value: Amount(value),
                    policy: BreakerPolicy {
                        min_severity,
                        min_confidence,
                        monitors,
                        action: OnChainAction {
                            target,
                            calldata: calldata.clone(),
                            reset_calldata: calldata,
                        },
                    },
                    bounty: None,
                    safe_harbor: None,
                }
            },
        )
        .prop_flat_map(|spec| {
            (Just(spec), proptest::option::of(bounty_program()), proptest::option::of(harbor()))
        })
        .prop_map(|(spec, bounty, safe_harbor)| ProtocolSpec { bounty, safe_harbor, ..spec })
}

fn disclosure_key() -> impl Strategy<Value = DisclosureKey> {
    any::<[u8; 32]>().prop_map(|k| {
        let hrp = bech32::Hrp::parse("age").unwrap();
        bech32::encode::<bech32::Bech32>(hrp, &k).unwrap().parse().unwrap()
    })
}

fn bounty_program() -> impl Strategy<Value = BountyProgram> {
    (proptest::collection::vec(disclosure_key(), 1..3), 0u32..=10_000, any::<[u64; 5]>()).prop_map(
        |(recipients, critical_bps, [a, b, c, d, e])| BountyProgram {
            recipients,
            critical_bps,
            critical_floor: Amount(a),
            critical_cap: Amount(b),
            high: Amount(c),
            medium: Amount(d),
            low: Amount(e),
        },
    )
}

fn harbor() -> impl Strategy<Value = SafeHarbor> {
    (0u32..=10_000, any::<u64>(), any::<u64>(), any::<bool>()).prop_map(
        |(bps, a, b, retainable)| SafeHarbor {
            bounty_bps: bps,
            cap_per_whitehat: Amount(a),
            cap_total: Amount(b),
            retainable,
        },
    )
}

fn disclosure_body() -> impl Strategy<Value = TxBody> {
    let amount = any::<u64>().prop_map(Amount);
    prop_oneof![
        (protocol_id(), amount.clone())
            .prop_map(|(protocol, amount)| TxBody::FundBounty { protocol, amount }),
        (protocol_id(), any::<[[u8; 32]; 2]>(), severity(), amount.clone(), amount.clone())
            .prop_map(|(protocol, [c, x], severity, funds_at_risk, bond)| TxBody::Disclose {
                protocol,
                commitment: ContentId(c),
                ciphertext: ContentId(x),
                severity,
                funds_at_risk,
                bond,
            }),
        any::<u64>().prop_map(|disclosure| TxBody::DisclosureAccept { disclosure }),
        (any::<u64>(), severity(), proptest::option::of(amount.clone()), "\\PC{0,30}").prop_map(
            |(disclosure, severity, funds_at_risk, reason)| TxBody::DisclosureDowngrade {
                disclosure,
                severity,
                funds_at_risk,
                reason,
            }
        ),
        (any::<u64>(), "\\PC{0,30}")
            .prop_map(|(disclosure, reason)| TxBody::DisclosureDispute { disclosure, reason }),
        (any::<u64>(), "\\PC{0,60}", any::<[u8; 32]>()).prop_map(|(disclosure, report, salt)| {
            TxBody::DisclosureReveal { disclosure, report, salt }
        }),
        (
            protocol_id(),
            amount.clone(),
            amount,
            proptest::collection::vec(b256(), 0..3),
            "\\PC{0,30}"
        )
            .prop_map(|(protocol, recovered, retained, evidence, note)| {
                TxBody::RecoveryClaim { protocol, recovered, retained, evidence, note }
            }),
        any::<u64>().prop_map(|claim| TxBody::RecoveryConfirm { claim }),
        (any::<u64>(), "\\PC{0,30}")
            .prop_map(|(claim, reason)| TxBody::RecoveryDispute { claim, reason }),
    ]
}

fn proposal_action() -> impl Strategy<Value = ProposalAction> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..40)
            .prop_map(|params| ProposalAction::ParameterChange { params }),
        (account(), any::<u64>())
            .prop_map(|(to, a)| ProposalAction::TreasurySpend { to, amount: Amount(a) }),
        protocol_id().prop_map(|protocol| ProposalAction::BreakerReset { protocol }),
        (account(), any::<u64>())
            .prop_map(|(account, a)| ProposalAction::Slash { account, amount: Amount(a) }),
        (any::<[u8; 32]>(), any::<bool>()).prop_map(|(r, confirm)| ProposalAction::ResolveReport {
            report: ContentId(r),
            confirm
        }),
        any::<u64>().prop_map(|disclosure| ProposalAction::DecideDisclosure { disclosure }),
        any::<u64>().prop_map(|claim| ProposalAction::DecideRecovery { claim }),
    ]
}

pub fn tx_body() -> impl Strategy<Value = TxBody> {
    let amount = any::<u64>().prop_map(Amount);
    prop_oneof![
        (protocol_spec(), any::<u64>())
            .prop_map(|(spec, d)| TxBody::RegisterProtocol { spec, bounty_deposit: Amount(d) }),
        (protocol_id(), "\\PC{0,30}")
            .prop_map(|(protocol, reason)| TxBody::TripBreaker { protocol, reason }),
        (protocol_id(), alert(), any::<[u8; 32]>(), chain_id()).prop_map(
            |(protocol, alert, seed, chain)| {
                TxBody::FastPathTrip {
                    protocol,
                    alert: Box::new(Signed::sign(alert, chain, &Keypair::from_seed(&seed))),
                }
            }
        ),
        protocol_id().prop_map(|protocol| TxBody::ApproveReset { protocol }),
        (proposal_action(), "\\PC{1,30}", proptest::option::of(any::<u64>())).prop_map(
            |(action, description, not_before)| TxBody::Propose { action, description, not_before }
        ),
        (
            any::<u64>(),
            proptest::sample::select(vec![VoteChoice::Yes, VoteChoice::No, VoteChoice::Abstain])
        )
            .prop_map(|(proposal, choice)| TxBody::Vote { proposal, choice }),
        (account(), amount.clone()).prop_map(|(to, amount)| TxBody::Transfer { to, amount }),
        amount.clone().prop_map(|amount| TxBody::Bond { amount }),
        amount.clone().prop_map(|amount| TxBody::Unbond { amount }),
        (report(), amount.clone()).prop_map(|(report, bond)| TxBody::SubmitReport { report, bond }),
        (any::<[u8; 32]>(), any::<bool>(), amount).prop_map(|(id, confirm, stake)| {
            TxBody::Attest {
                report: ContentId(id),
                stance: if confirm { Stance::Confirm } else { Stance::Dispute },
                stake,
            }
        }),
        disclosure_body(),
    ]
}

pub fn signed_tx() -> impl Strategy<Value = SignedTx> {
    (chain_id(), any::<[u8; 32]>(), any::<u64>(), tx_body()).prop_map(
        |(chain_id, seed, nonce, body)| {
            let key = Keypair::from_seed(&seed);
            Tx { chain_id, signer: key.account_id(), nonce, body }.sign(&key)
        },
    )
}

pub fn alert() -> impl Strategy<Value = Alert> {
    (
        "[a-z-]{1,20}",
        severity(),
        proptest::sample::select(vec![
            AlertKind::Exploit,
            AlertKind::Suspicious,
            AlertKind::Scam,
            AlertKind::Degraded,
            AlertKind::Info,
        ]),
        0u8..=100,
        (
            any::<u64>(),
            b256(),
            address(),
            proptest::option::of(address()),
            proptest::option::of(any::<u64>()),
        ),
        proptest::collection::vec(address(), 0..4),
        proptest::collection::vec(indicator(), 0..3),
        proptest::collection::vec("[a-z_0-9]{1,10}", 0..3),
        "\\PC{0,60}",
        (any::<u64>(), proptest::collection::btree_map("[a-z_]{1,8}", "\\PC{0,12}", 0..3)),
    )
        .prop_map(
            |(
                detector,
                severity,
                kind,
                confidence,
                (chain, hash, from, to, block),
                addresses,
                indicators,
                labels,
                description,
                (time, metadata),
            )| {
                Alert {
                    detector,
                    severity,
                    kind,
                    confidence,
                    tx: TxRef { chain: EvmChainId(chain), hash, from, to, block },
                    addresses,
                    indicators,
                    labels,
                    description,
                    time,
                    metadata,
                    detection: Vec::new(),
                }
            },
        )
}

fn round_trips<T>(value: &T) -> Result<(), TestCaseError>
where
    T: borsh::BorshSerialize
        + borsh::BorshDeserialize
        + serde::Serialize
        + serde::de::DeserializeOwned
        + PartialEq
        + std::fmt::Debug,
{
    let bytes = encode(value);
    prop_assert_eq!(&decode::<T>(&bytes).unwrap(), value);
    // Canonical: re-encoding the decoded value gives the same bytes.
    prop_assert_eq!(encode(&decode::<T>(&bytes).unwrap()), bytes);
    let json = serde_json::to_string(value).unwrap();
    prop_assert_eq!(&serde_json::from_str::<T>(&json).unwrap(), value);
    Ok(())
}

proptest! {
    #[test]
    fn indicators_round_trip(ind in indicator()) {
        round_trips(&ind)?;
        prop_assert_eq!(ind.to_string().parse::<Indicator>().unwrap(), ind);
    }

    #[test]
    fn reports_round_trip(report in report()) {
        round_trips(&report)?;
    }

    #[test]
    fn signed_txs_round_trip(tx in signed_tx()) {
        round_trips(&tx)?;
        prop_assert!(tx.verify().is_ok());
    }

    #[test]
    fn signed_alerts_round_trip(alert in alert(), seed in any::<[u8; 32]>(), chain in chain_id()) {
        let signed = Signed::sign(alert, chain.clone(), &Keypair::from_seed(&seed));
        round_trips(&signed)?;
        prop_assert!(signed.verify(&chain).is_ok());
    }

    #[test]
    fn trailing_or_truncated_bytes_are_refused(tx in signed_tx(), extra in 1usize..8) {
        let bytes = encode(&tx);
        let mut longer = bytes.clone();
        longer.extend(std::iter::repeat_n(0u8, extra));
        prop_assert!(decode::<SignedTx>(&longer).is_err());
        prop_assert!(decode::<SignedTx>(&bytes[..bytes.len() - extra.min(bytes.len())]).is_err());
    }

    #[test]
    fn decoding_garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = decode::<SignedTx>(&bytes);
        let _ = decode::<Indicator>(&bytes);
        let _ = decode::<Signed<Alert>>(&bytes);
    }
}

#[test]
fn content_ids_are_blake3_of_canonical_bytes() {
    let report = Report {
        indicators: vec!["0x098b716b8aaf21512996dc57eb0615e2383e2f96".parse().unwrap()],
        severity: Severity::High,
        category: Category::Exploit,
        summary: "Ronin bridge exploiter".into(),
        evidence: vec![],
        affected_protocols: vec!["ronin".into()],
        detection: Vec::new(),
        revokes: Vec::new(),
    };
    assert_eq!(report.id(), ContentId(*blake3::hash(&encode(&report)).as_bytes()));
    assert_eq!(report.id().to_string().parse::<ContentId>().unwrap(), report.id());
}

#[test]
fn oversized_input_is_refused_before_parsing() {
    let big = vec![0u8; vigil_core::encoding::MAX_ENCODED_LEN + 1];
    assert!(matches!(decode::<SignedTx>(&big), Err(vigil_core::DecodeError::TooLarge { .. })));
}
