//! The PostgreSQL lease backend against a real server, started by each test
//! ([`PostgresServer`]): two `Postgres` values are two replicas (two connections).
//!
//! Real time, with a TTL of 2 s; bounds are generous for a loaded machine, and every
//! wait is bounded. Run with `--features postgres` (CI does, with `--all-features`).

use std::time::Duration;

use rutina::__private::{Keeper, Lost};
use rutina::lease::{Lease, Postgres};
use rutina_tests::postgres_server::{PostgresServer, free_port};
use tokio::time::{Instant, sleep, timeout};
use tokio_util::sync::CancellationToken;

const TTL: Duration = Duration::from_secs(2);
/// Bounds any single wait, so that a broken test fails instead of hanging.
const PATIENCE: Duration = Duration::from_secs(30);

async fn replica(server: &PostgresServer) -> Postgres {
    Postgres::connect(&server.url()).await.expect("connect to the test server").ttl(TTL)
}

/// `holder` polls `backend` for `key` until it gets it (another's lease on it expired):
/// its fencing token.
async fn acquire_once_expired(backend: &Postgres, key: &str, holder: &str) -> u64 {
    timeout(PATIENCE, async {
        loop {
            if let Some(token) = backend.acquire(key, holder).await.unwrap() {
                break token;
            }
            sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("the lease expires")
}

/// Runs a blocking server command (`pg_ctl`) off the runtime's threads.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.expect("the server command does not panic")
}

#[tokio::test]
async fn exactly_one_of_two_replicas_holds_the_key() {
    let server = PostgresServer::start();
    let (a, b) = (replica(&server).await, replica(&server).await);

    let mut last = 0;
    for round in 0..20 {
        let (got_a, got_b) = tokio::join!(a.acquire("race", "a"), b.acquire("race", "b"));
        let (got_a, got_b) = (got_a.unwrap(), got_b.unwrap());
        let (winner, token) = match (got_a, got_b) {
            (Some(token), None) => ("a", token),
            (None, Some(token)) => ("b", token),
            other => panic!("round {round}: both or neither got the lease: {other:?}"),
        };
        assert!(token > last, "round {round}: token {token} after {last}");
        last = token;
        // The loser still cannot take it; the winner releases it for the next round.
        let (winner_backend, loser_backend, loser) = if winner == "a" { (&a, &b, "b") } else { (&b, &a, "a") };
        assert_eq!(loser_backend.acquire("race", loser).await.unwrap(), None);
        winner_backend.release("race", winner, token).await.unwrap();
    }

    // Many replicas at once, on a fresh key: one winner.
    let mut replicas = Vec::new();
    for _ in 0..6 {
        replicas.push(replica(&server).await);
    }
    let holders: Vec<String> = (0..replicas.len()).map(|n| format!("replica-{n}")).collect();
    let tries = replicas.iter().zip(&holders).map(|(backend, holder)| backend.acquire("crowd", holder));
    let answers = futures_join_all(tries).await;
    let winners = answers.iter().filter(|answer| matches!(answer, Ok(Some(_)))).count();
    assert_eq!(winners, 1, "{answers:?}");
}

#[tokio::test]
async fn fencing_tokens_grow_and_a_release_frees_the_lease_at_once() {
    let server = PostgresServer::start();
    let (a, b) = (replica(&server).await, replica(&server).await);

    assert_eq!(a.acquire("job", "a").await.unwrap(), Some(1));
    assert_eq!(b.acquire("job", "b").await.unwrap(), None);
    // Releasing someone else's lease, or with an old token, does nothing.
    b.release("job", "b", 1).await.unwrap();
    a.release("job", "a", 0).await.unwrap();
    assert_eq!(b.acquire("job", "b").await.unwrap(), None);

    a.release("job", "a", 1).await.unwrap();
    a.release("job", "a", 1).await.unwrap(); // idempotent
    assert_eq!(b.acquire("job", "b").await.unwrap(), Some(2), "free at once after the release");
    assert!(!a.renew("job", "a", 1).await.unwrap(), "a released lease is not renewed");
    assert!(b.renew("job", "b", 2).await.unwrap());

    // Re-acquiring while holding gives a new token and retires the old one.
    assert_eq!(b.acquire("job", "b").await.unwrap(), Some(3));
    assert!(!b.renew("job", "b", 2).await.unwrap());
    b.release("job", "b", 3).await.unwrap();
    assert_eq!(a.acquire("job", "a").await.unwrap(), Some(4));

    // Keys are independent.
    assert_eq!(b.acquire("other", "b").await.unwrap(), Some(1));
}

#[tokio::test]
async fn an_expired_lease_goes_to_the_other_replica_and_is_not_renewed() {
    let server = PostgresServer::start();
    let (a, b) = (replica(&server).await, replica(&server).await);

    let sent = Instant::now();
    let token = a.acquire("job", "a").await.unwrap().expect("a free key");
    // B polls until it gets the lease: not before the TTL has passed.
    let token_b = acquire_once_expired(&b, "job", "b").await;
    let waited = sent.elapsed();
    assert!(waited >= TTL, "B acquired after {waited:?}, before the TTL");
    assert!(waited < TTL + Duration::from_secs(5), "B acquired only after {waited:?}");
    assert!(token_b > token);
    assert!(!a.renew("job", "a", token).await.unwrap(), "a renewal after expiry (and takeover) fails");

    // Expired but not taken: still not renewable (no resurrection).
    let token = a.acquire("alone", "a").await.unwrap().expect("a free key");
    sleep(TTL + Duration::from_millis(200)).await;
    assert!(!a.renew("alone", "a", token).await.unwrap(), "a renewal after expiry fails");
    assert_eq!(a.acquire("alone", "a").await.unwrap(), Some(token + 1));
}

#[tokio::test]
async fn keepers_on_two_replicas_hand_over_on_release() {
    let server = PostgresServer::start();
    let mut a = Keeper::new(replica(&server).await, "job");
    let mut b = Keeper::new(replica(&server).await, "job");
    let stop = CancellationToken::new();

    let token = timeout(PATIENCE, a.acquire(&stop)).await.unwrap().expect("acquired");
    let standby = tokio::spawn({
        let stop = stop.clone();
        async move { (b.acquire(&stop).await, Instant::now()) }
    });
    // A holds (renewing) for 2 TTLs; B stands by.
    assert_eq!(timeout(2 * TTL, a.hold()).await.ok(), None, "A keeps the lease");
    assert!(!standby.is_finished());
    a.release().await;
    let released = Instant::now();
    let (token_b, acquired) = timeout(PATIENCE, standby).await.unwrap().unwrap();
    assert!(token_b.expect("B takes over") > token);
    assert!(acquired - released <= TTL / 4 + Duration::from_millis(500), "took {:?}", acquired - released);
}

#[tokio::test]
async fn a_holder_paused_past_its_deadline_sees_the_loss_at_once_and_cannot_renew() {
    let server = PostgresServer::start();
    let mut a = Keeper::new(replica(&server).await, "job");
    let b = replica(&server).await;
    let stop = CancellationToken::new();
    let token = timeout(PATIENCE, a.acquire(&stop)).await.unwrap().expect("acquired");

    // A is paused (nothing of it runs) while its lease expires and B takes it.
    let token_b = acquire_once_expired(&b, "job", "b").await;
    assert!(token_b > token);

    // A resumes: its first poll reports the loss, without waiting for the database.
    let first = {
        let mut hold = std::pin::pin!(a.hold());
        std::future::poll_fn(|cx| std::task::Poll::Ready(hold.as_mut().poll(cx))).await
    };
    assert_eq!(first, std::task::Poll::Ready(Lost::Unconfirmed));
    // B keeps the lease (its TTL runs until at least TTL after it acquired): A stands by.
    assert_eq!(timeout(TTL / 2, a.acquire(&stop)).await.ok(), None, "A must not get the lease back");
    assert!(b.renew("job", "b", token_b).await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_database_is_a_lost_lease_within_the_ttl_and_a_restarted_one_is_reconnected() {
    let mut server = PostgresServer::start();
    let backend = replica(&server).await;
    let mut keeper = Keeper::new(backend.clone(), "job");
    let stop = CancellationToken::new();
    let token = timeout(PATIENCE, keeper.acquire(&stop)).await.unwrap().expect("acquired");

    // The database goes away while the lease is held: renewals fail, and the keeper
    // reports the loss before the lease could expire (at most TTL − margin after the
    // last renewal that went through).
    let holding = tokio::spawn(async move {
        let lost = keeper.hold().await;
        (keeper, lost, Instant::now())
    });
    sleep(TTL / 2).await;
    assert!(!holding.is_finished(), "the lease is kept while the database is up");
    let mut server = blocking(move || {
        server.stop();
        server
    })
    .await;
    // From the moment the database is surely down (no renewal can succeed after it).
    let stopped_at = Instant::now();
    assert!(backend.renew("job", "whoever", 1).await.is_err(), "a renewal fails without a database");
    let (mut keeper, lost, lost_at) = timeout(PATIENCE, holding).await.expect("the loss is reported").unwrap();
    assert_eq!(lost, Lost::Unconfirmed);
    assert!(lost_at - stopped_at < TTL, "loss reported {:?} after the database stopped", lost_at - stopped_at);
    assert_eq!(keeper.fencing_token(), None);

    // Standby while it is down: errors are retried, not returned.
    let standby = tokio::spawn(async move {
        let token = keeper.acquire(&stop).await;
        (token, Instant::now())
    });
    sleep(TTL).await;
    assert!(!standby.is_finished(), "no lease without a database");

    // Back up: the backend reconnects, and the keeper holds the lease again within the
    // TTL, with a greater token (they survived the restart).
    let restarted = blocking(move || {
        server.restart();
        server
    })
    .await;
    let restarted_at = Instant::now();
    let (again, acquired_at) = timeout(PATIENCE, standby).await.expect("acquired again").unwrap();
    assert!(again.expect("a token") > token);
    assert!(acquired_at - restarted_at < TTL, "acquired {:?} after the restart", acquired_at - restarted_at);
    // The same backend value works again for other keys too.
    assert_eq!(backend.acquire("after-restart", "someone").await.unwrap(), Some(1));
    drop(restarted);
}

#[tokio::test]
async fn replicas_starting_together_create_the_table_once() {
    let server = PostgresServer::start();
    let url = server.url();
    let connects = (0..8).map(|_| Postgres::connect(&url));
    let backends = futures_join_all(connects).await;
    for (n, backend) in backends.iter().enumerate() {
        let backend = backend.as_ref().unwrap_or_else(|error| panic!("replica {n}: {error}"));
        assert!(backend.acquire(&format!("key-{n}"), "me").await.unwrap().is_some());
    }
}

#[tokio::test]
async fn an_unreachable_database_is_a_clear_error_at_connect() {
    let port = free_port();
    let started = Instant::now();
    let error = Postgres::connect(&format!("postgres://app:s3cret@127.0.0.1:{port}/billing")).await.unwrap_err();
    let message = error.to_string();
    assert!(
        message.starts_with(&format!("cannot connect to the lease database app@127.0.0.1:{port}/billing: ")),
        "{message}"
    );
    assert!(message.contains("refused"), "{message}");
    assert!(!message.contains("s3cret"), "the password leaked: {message}");
    assert!(std::error::Error::source(&error).is_some());
    assert!(started.elapsed() < Duration::from_secs(10));
    // It converts into rutina's error type.
    let boxed: rutina::BoxError = error.into();
    assert!(boxed.to_string().contains("cannot connect"));

    let error = Postgres::connect("postgres://app@127.0.0.1:5432/db?nonsense=1").await.unwrap_err();
    assert!(error.to_string().starts_with("invalid lease database URL: "), "{error}");
}

/// Runs futures concurrently on this task and collects their outputs in order.
async fn futures_join_all<F: Future>(futures: impl IntoIterator<Item = F>) -> Vec<F::Output> {
    let mut set = Vec::new();
    for future in futures {
        set.push(Box::pin(future));
    }
    let mut outputs: Vec<Option<F::Output>> = set.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (future, output) in set.iter_mut().zip(outputs.iter_mut()) {
            if output.is_none() {
                match future.as_mut().poll(cx) {
                    std::task::Poll::Ready(value) => *output = Some(value),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending { std::task::Poll::Pending } else { std::task::Poll::Ready(()) }
    })
    .await;
    outputs.into_iter().map(|output| output.expect("every future completed")).collect()
}
