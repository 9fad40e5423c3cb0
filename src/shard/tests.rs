use super::*;

/// `spec-S/target-T` for 30 specs of 100 targets: the shape of the integration test.
fn ids() -> Vec<(String, String)> {
    (0..30)
        .flat_map(|s| (0..100).map(move |t| (format!("spec-{s}"), format!("target-{t}"))))
        .collect()
}

fn shares(count: u32) -> Vec<usize> {
    let mut n = vec![0; count as usize];
    for (spec, target) in ids() {
        n[bucket(&spec, &target, count) as usize] += 1;
    }
    n
}

#[test]
fn the_key_is_fnv1a64_as_published() {
    assert_eq!(stable_hash(""), 0xcbf2_9ce4_8422_2325);
    assert_eq!(stable_hash("a"), 0xaf63_dc4c_8601_ec8c);
    assert_eq!(stable_hash("foobar"), 0x8594_4171_f739_67e8);
}

#[test]
fn jump_hash_matches_the_reference_implementation() {
    // Values of the paper's C++ code, as pinned by ClickHouse's `jumpConsistentHash` tests.
    for (key, buckets, want) in [
        (1, 1, 0),
        (42, 57, 43),
        (256, 1024, 520),
        (3_735_883_980, 1, 0),
        (3_735_883_980, 666, 361),
        (16_045_690_984_833_335_023, 255, 237),
    ] {
        assert_eq!(
            jump_consistent_hash(key, buckets),
            want,
            "jump({key}, {buckets})"
        );
    }
    assert_eq!(jump_consistent_hash(7, 0), 0);
}

#[test]
fn buckets_are_pinned() {
    // Changing the hash would move every deployment's targets between shards: these must not
    // change.
    let got: Vec<u32> = [
        ("shop", "home", 3),
        ("shop", "products", 3),
        ("shop", "health", 3),
        ("api", "status", 5),
        ("api", "orders", 10),
        ("spec-0", "target-0", 3),
    ]
    .iter()
    .map(|(s, t, n)| bucket(s, t, *n))
    .collect();
    assert_eq!(got, vec![0, 1, 2, 3, 2, 0]);
    assert_eq!(shares(3), vec![994, 975, 1031]);
}

/// Four standard deviations of a binomial count of `n` draws with probability `p`: a fair hash
/// stays within it but for one time in 15,000.
fn four_sigma(n: f64, p: f64) -> f64 {
    4.0 * (n * p * (1.0 - p)).sqrt()
}

#[test]
fn the_split_is_as_even_as_a_fair_coin_gives() {
    for count in [2u32, 3, 4, 7, 10, 16] {
        let n = shares(count);
        let p = 1.0 / f64::from(count);
        for (i, &share) in n.iter().enumerate() {
            assert!(
                (share as f64 - 3000.0 * p).abs() < four_sigma(3000.0, p),
                "{count} shards: shard {i} has {share} of 3000 ({n:?})"
            );
        }
    }
    let three = shares(3);
    assert!(
        three.iter().all(|&n| (800..=1200).contains(&n)),
        "{three:?}"
    );
}

#[test]
fn adding_a_shard_moves_targets_only_into_it() {
    for count in 1u32..12 {
        let mut moved = 0usize;
        for (spec, target) in ids() {
            let before = bucket(&spec, &target, count);
            let after = bucket(&spec, &target, count + 1);
            if before != after {
                assert_eq!(after, count, "{spec}/{target} moved {before} -> {after}");
                moved += 1;
            }
        }
        let p = 1.0 / f64::from(count + 1);
        assert!(
            (moved as f64 - 3000.0 * p).abs() < four_sigma(3000.0, p),
            "{count} -> {}: {moved} moved, about {} expected",
            count + 1,
            3000.0 * p
        );
    }
}

#[test]
fn parses_index_and_count() {
    let none = || None;
    assert_eq!(
        Shard::parse_with("1/3", &none),
        Ok(Shard { index: 1, count: 3 })
    );
    assert_eq!(Shard::parse_with(" 0 / 1 ", &none), Ok(Shard::WHOLE));
    assert_eq!(
        Shard::parse_with("0/1", &none).map(|s| s.to_string()),
        Ok("0/1".into())
    );
    assert_eq!(
        "2/5".parse::<Shard>().map(|s| (s.index(), s.count())),
        Ok((2, 5))
    );
}

#[test]
fn rejects_what_is_not_a_shard() {
    let none = || None;
    let err = |s: &str| match Shard::parse_with(s, &none) {
        Err(e) => e.to_string(),
        Ok(shard) => panic!("{s:?} parsed as {shard}"),
    };
    assert_eq!(
        err("3/3"),
        "shard index 3 is not below the shard count 3: shards are numbered 0 to 2"
    );
    assert_eq!(
        err("99999999999/3"),
        "shard index 99999999999 is not below the shard count 3: shards are numbered 0 to 2"
    );
    for bad in ["0/0", "2/0", "1/x", "1/-3", "1/", "1/99999999999"] {
        assert_eq!(
            err(bad),
            "the shard count N must be a whole number of at least 1",
            "{bad:?}"
        );
    }
    for bad in ["a/2", "1", "", "/3", "-1/3", "+1/3", "1.5/3"] {
        assert!(
            err(bad).starts_with("expected I/N with 0 <= I < N (e.g. 1/3), auto/N"),
            "{bad:?}: {}",
            err(bad)
        );
    }
}

#[test]
fn takes_the_ordinal_from_a_statefulset_pod_name() {
    let host = |h: &'static str| move || Some(h.to_string());
    let parse = |s: &str, h: &dyn Fn() -> Option<String>| Shard::parse_with(s, h);
    assert_eq!(
        parse("auto/3", &host("dcrawl-2")),
        Ok(Shard { index: 2, count: 3 })
    );
    assert_eq!(
        parse("AUTO/12", &host("my-app-10\n")),
        Ok(Shard {
            index: 10,
            count: 12
        })
    );
    assert_eq!(
        parse("dcrawl-1/2", &|| None),
        Ok(Shard { index: 1, count: 2 })
    );
    let err = |s: &str, h: &dyn Fn() -> Option<String>| match parse(s, h) {
        Err(e) => e.to_string(),
        Ok(shard) => panic!("{s:?} parsed as {shard}"),
    };
    assert_eq!(
        err("auto/3", &host("dcrawl-3")),
        "pod \"dcrawl-3\" has ordinal 3, not below the shard count 3: set N to the StatefulSet's replicas"
    );
    assert_eq!(
        err("auto/3", &host("web")),
        "cannot take a StatefulSet ordinal from \"web\": expected a pod name ending in -NUMBER, like dcrawl-2"
    );
    assert!(err("auto/3", &host("dcrawl-")).contains("ending in -NUMBER"));
    assert!(err("dcrawl-x/3", &|| None).contains("ending in -NUMBER"));
    assert_eq!(
        err("auto/3", &|| None),
        "auto/N takes the StatefulSet ordinal from HOSTNAME, which is not set"
    );
    assert!(err("auto/3", &host("  ")).contains("which is not set"));
}

#[test]
fn owns_is_the_bucket() {
    let shards: Vec<Shard> = (0..3).filter_map(|i| Shard::new(i, 3)).collect();
    for (spec, target) in ids().into_iter().take(300) {
        let owners = shards.iter().filter(|s| s.owns(&spec, &target)).count();
        assert_eq!(owners, 1, "{spec}/{target}");
        assert!(Shard::WHOLE.owns(&spec, &target));
    }
    assert_eq!(Shard::new(3, 3), None);
}

#[test]
fn select_keeps_whole_targets_and_drops_empty_specs() {
    let spec = |name: &str, targets: &[&str]| crate::spec::Source {
        name: format!("{name}.yaml"),
        text: format!(
            "name: {name}\ntargets:\n{}",
            targets
                .iter()
                .map(|t| format!(
                    "  - name: {t}\n    url: http://127.0.0.1/{t}\n    crawl: {{max_pages: 5}}\n"
                ))
                .collect::<String>()
        ),
    };
    let names: Vec<String> = (0..40).map(|i| format!("t{i}")).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let sources = [spec("many", &names), spec("one", &["only"])];
    let config = match crate::spec::load_sources(&sources, &|_| None) {
        Ok(c) => c,
        Err(d) => panic!("{d}"),
    };
    let mut seen = std::collections::BTreeMap::new();
    let mut specs_seen = 0;
    for index in 0..4 {
        let shard = Shard { index, count: 4 };
        let (share, kept) = Share::of(shard, &config);
        assert_eq!(share.total, 41);
        assert_eq!(share.owned, kept.targets().count());
        assert_eq!(
            share.to_string(),
            format!("shard {index}/4: {} of 41 targets", share.owned)
        );
        assert!(kept.specs.iter().all(|s| !s.targets.is_empty()));
        specs_seen += kept.specs.len();
        for t in kept.targets() {
            assert!(t.crawl.is_some(), "{} lost its crawl", t.id());
            assert_eq!(bucket(&t.spec, &t.name, 4), index);
            *seen.entry(t.id()).or_insert(0) += 1;
        }
    }
    assert_eq!(seen.len(), 41);
    assert!(seen.values().all(|&n| n == 1));
    assert_eq!(
        specs_seen, 5,
        "`one` appears in exactly one shard, `many` in all four"
    );
    let (whole, kept) = Share::of(Shard::WHOLE, &config);
    assert_eq!((whole.owned, whole.total, kept.specs.len()), (41, 41, 2));
}
