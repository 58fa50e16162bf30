//! `SharedState::admit` and `finish` on both backends: the same scenarios, the same answers.
//! Redis is `BENTENG_TEST_REDIS_URL` (default `redis://127.0.0.1:6379`), each test under a fresh
//! namespace; the test fails when Redis cannot be reached.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::time::Duration;

use benteng_shared_state::{
    Admission, Counter, Decision, KeyLock, KeyState, LimitCheck, MemoryState, RedisState,
    SharedStateHandle,
};

const WINDOW: Duration = Duration::from_secs(60);

async fn backends() -> [SharedStateHandle; 2] {
    let url = std::env::var("BENTENG_TEST_REDIS_URL")
        .unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    let namespace = format!("test-admit-{}", uuid::Uuid::new_v4().simple());
    let redis = RedisState::connect(&url, &namespace, &Default::default())
        .await
        .unwrap_or_else(|error| panic!("Redis at {url}: {error}"));
    [
        std::sync::Arc::new(MemoryState::new()),
        std::sync::Arc::new(redis),
    ]
}

fn check(key: &str, limit: i64) -> LimitCheck {
    LimitCheck {
        key: key.to_owned(),
        limit,
    }
}

fn key_lock(name: &str, owner: &str) -> KeyLock {
    KeyLock {
        response_key: format!("response:{name}"),
        lock_key: format!("lock:{name}"),
        owner: owner.to_owned(),
        ttl: Duration::from_secs(60),
    }
}

async fn admit(
    state: &SharedStateHandle,
    guard: Option<&LimitCheck>,
    limits: &[LimitCheck],
    key: Option<&KeyLock>,
) -> Decision {
    let admitted = state
        .admit(&Admission {
            guard,
            limits,
            key,
            window: WINDOW,
        })
        .await
        .unwrap();
    assert!(admitted.now_unix_ms > 1_700_000_000_000, "a Unix clock");
    admitted.decision
}

fn values(counters: &[Counter]) -> Vec<i64> {
    for counter in counters {
        assert!(counter.resets_in <= WINDOW && counter.resets_in > Duration::ZERO);
    }
    counters.iter().map(|c| c.value).collect()
}

#[tokio::test]
async fn limits_count_all_or_nothing() {
    for state in backends().await {
        let backend = state.backend();
        let limits = [check("tenant", 3), check("endpoint", 2)];
        for expected in 1..=2 {
            match admit(&state, None, &limits, None).await {
                Decision::Admitted { counters, key } => {
                    assert_eq!(values(&counters), [expected, expected], "{backend}");
                    assert_eq!(key, None);
                }
                other => panic!("{backend}: {other:?}"),
            }
        }
        // The endpoint limit refuses; the tenant counter is not used up by the refusal.
        match admit(&state, None, &limits, None).await {
            Decision::Limited(counters) => assert_eq!(values(&counters), [2, 2], "{backend}"),
            other => panic!("{backend}: {other:?}"),
        }
        match admit(&state, None, &limits[..1], None).await {
            Decision::Admitted { counters, .. } => assert_eq!(values(&counters), [3], "{backend}"),
            other => panic!("{backend}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_guard_at_its_limit_blocks_before_anything_is_counted_or_locked() {
    for state in backends().await {
        let backend = state.backend();
        let guard = check("ip", 2);
        let limits = [check("tenant", 10)];
        let lock = key_lock("k", "first");
        // The guard is only read: under its limit it lets requests through uncounted.
        for _ in 0..3 {
            let decision = admit(&state, Some(&guard), &limits, None).await;
            assert!(matches!(decision, Decision::Admitted { .. }), "{backend}");
        }
        // Failures are counted as limits of their own (cost 1, refused once full).
        for expected in 1..=2 {
            match admit(&state, None, std::slice::from_ref(&guard), None).await {
                Decision::Admitted { counters, .. } => {
                    assert_eq!(values(&counters), [expected], "{backend}");
                }
                other => panic!("{backend}: {other:?}"),
            }
        }
        assert!(matches!(
            admit(&state, None, std::slice::from_ref(&guard), None).await,
            Decision::Limited(_)
        ));
        match admit(&state, Some(&guard), &limits, Some(&lock)).await {
            Decision::Blocked(counter) => assert_eq!(values(&[counter]), [2], "{backend}"),
            other => panic!("{backend}: {other:?}"),
        }
        // Blocked: the tenant counter stayed at 3 and the key was not locked.
        match admit(&state, None, &limits, Some(&key_lock("k", "second"))).await {
            Decision::Admitted { counters, key } => {
                assert_eq!(values(&counters), [4], "{backend}");
                assert_eq!(key, Some(KeyState::Locked), "{backend}");
            }
            other => panic!("{backend}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_key_is_locked_once_then_in_flight_then_completed() {
    for state in backends().await {
        let backend = state.backend();
        let limits = [check("tenant", 100)];
        let key_state = async |lock: &KeyLock| match admit(&state, None, &limits, Some(lock)).await
        {
            Decision::Admitted { key: Some(key), .. } => key,
            other => panic!("{backend}: {other:?}"),
        };
        let first = key_lock("a", "first");
        let second = key_lock("a", "second");
        assert_eq!(key_state(&first).await, KeyState::Locked, "{backend}");
        assert_eq!(key_state(&second).await, KeyState::InFlight, "{backend}");
        // Only the owner releases the lock.
        state.finish(&second, None).await.unwrap();
        assert_eq!(key_state(&second).await, KeyState::InFlight, "{backend}");
        // A request that recorded nothing releases the lock; the next one takes it.
        state.finish(&first, None).await.unwrap();
        assert_eq!(key_state(&second).await, KeyState::Locked, "{backend}");
        // Completed: the stored response is returned and the lock released in the same step.
        let ttl = Duration::from_secs(60);
        state.finish(&second, Some((b"answer", ttl))).await.unwrap();
        for lock in [&first, &second] {
            assert_eq!(
                key_state(lock).await,
                KeyState::Completed(b"answer".to_vec()),
                "{backend}"
            );
        }
        assert_eq!(state.get("lock:a").await.unwrap(), None, "{backend}");
        assert_eq!(
            state.get("response:a").await.unwrap().as_deref(),
            Some(&b"answer"[..])
        );
        // A request refused by a limit neither reads nor locks its key.
        let other = key_lock("b", "first");
        let full = [check("full", 0)];
        assert!(matches!(
            admit(&state, None, &full, Some(&other)).await,
            Decision::Limited(_)
        ));
        assert_eq!(state.get("lock:b").await.unwrap(), None, "{backend}");
    }
}
