//! The shapes of the Go package's `locking_test.go`: a pool of max 10 shared by
//! 1, 9, 10, 11 and 113 resources, one task per resource, each running 1001
//! cycles of get then put (or get then release), on every runtime.
//!
//! Each task holds its guard across a yield, so that guards of different
//! resources overlap and gets have to wait for capacity once there are more
//! resources than `max`. The counting manager fails the test if live items ever
//! exceed `max`; at the end nothing may be in use, and dropping the resources
//! must release every item that was allocated.

mod common;

use std::time::Duration;

use common::{assert_quiescent, Counting, Runner, Tracker};
use resourcepool::{Pool, Resource};

/// The pool's limit in every shape, as in the Go tests.
const MAX: usize = 10;
/// Get+put (or get+release) cycles per resource.
const CYCLES: usize = 1001;
/// How long one shape may take before the test fails as a deadlock.
const SHAPE_LIMIT: Duration = Duration::from_secs(30);

/// What each cycle does with its guard.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ending {
    /// Drop the guard: the item stays allocated.
    Put,
    /// `Guard::release`: the next get allocates afresh.
    Release,
}

/// One resource's task: `CYCLES` gets, each ended by `ending`. It yields with
/// the runner's `yield_now` while it holds the guard and after it lets go.
async fn cycle(resource: Resource<Counting>, ending: Ending, runner: Runner) {
    for _ in 0..CYCLES {
        let mut guard = runner
            .get(&resource)
            .await
            .expect("allocate never fails here");
        assert_eq!(
            guard.key,
            resource.manager().key,
            "got another resource's item"
        );
        guard.uses += 1;
        runner.yield_now().await;
        match ending {
            Ending::Put => drop(guard),
            Ending::Release => guard.release().expect("release never fails here"),
        }
        runner.yield_now().await;
    }
}

/// Runs one shape: `count` resources in a pool of `MAX`, one task each.
fn run_shape(runner: Runner, count: usize, ending: Ending) {
    let tracker = Tracker::new(MAX);
    let pool = Pool::new(MAX);
    let resources: Vec<_> = (0..count)
        .map(|key| pool.create(Counting::new(key, &tracker)))
        .collect();

    runner.run_each(SHAPE_LIMIT, resources.clone(), move |resource, runner| {
        cycle(resource, ending, runner)
    });

    tracker.assert_never_exceeded();
    assert_quiescent(&pool, &tracker);
    let stats = pool.stats();
    assert_eq!((stats.allocating, stats.releasing), (0, 0), "{stats:?}");
    assert_eq!(stats.idle, tracker.live(), "{stats:?}");
    match ending {
        // No resource ever waits for a charge: each allocates once, and every
        // later get reuses its idle item.
        Ending::Put if count <= MAX => assert_eq!(tracker.allocations(), count),
        Ending::Put => assert!(tracker.allocations() >= count),
        Ending::Release => assert_eq!(tracker.allocations(), count * CYCLES),
    }

    drop(resources);
    assert_eq!(tracker.live(), 0, "dropping the resources left items alive");
    assert_eq!(tracker.releases(), tracker.allocations());
    assert_eq!(pool.stats().idle, 0, "{:?}", pool.stats());
}

/// The five shapes of the Go tests, for one runner and one ending.
macro_rules! shapes {
    ($runner:expr, $ending:expr) => {
        #[test]
        fn one_resource() {
            run_shape($runner, 1, $ending);
        }

        #[test]
        fn nine_resources_one_under_max() {
            run_shape($runner, 9, $ending);
        }

        #[test]
        fn ten_resources_at_max() {
            run_shape($runner, 10, $ending);
        }

        #[test]
        fn eleven_resources_one_over_max() {
            run_shape($runner, 11, $ending);
        }

        #[test]
        fn a_hundred_and_thirteen_resources_far_over_max() {
            run_shape($runner, 113, $ending);
        }
    };
}

/// A module per runner, with the shapes for get+put and for get+release.
macro_rules! runners {
    ($($module:ident => $runner:expr;)*) => {
        $(
            mod $module {
                use super::*;

                mod get_put {
                    use super::*;
                    shapes!($runner, Ending::Put);
                }

                mod get_release {
                    use super::*;
                    shapes!($runner, Ending::Release);
                }
            }
        )*
    };
}

runners! {
    tokio_tasks => Runner::Tokio;
    smol_tasks => Runner::Smol;
    async_std_tasks => Runner::AsyncStd;
    os_threads_blocking => Runner::Threads;
}
