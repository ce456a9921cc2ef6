use resourcepool::{AllocateRelease, Error, Pool};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

struct Counting {
    live: Arc<AtomicUsize>,
    max: usize,
}
impl AllocateRelease for Counting {
    type Item = u64;
    type Error = std::io::Error;
    async fn allocate(&self) -> Result<u64, std::io::Error> {
        let n = self.live.fetch_add(1, Ordering::SeqCst) + 1;
        assert!(n <= self.max, "live {n} > max");
        Ok(0)
    }
    fn release(&self, _item: u64) -> Result<(), std::io::Error> {
        self.live.fetch_sub(1, Ordering::SeqCst);
        Ok(())
    }
}

#[test]
fn smoke_threads() {
    let live = Arc::new(AtomicUsize::new(0));
    let pool = Pool::new(10);
    let resources: Vec<_> = (0..113)
        .map(|_| {
            pool.create(Counting {
                live: live.clone(),
                max: 10,
            })
        })
        .collect();
    std::thread::scope(|s| {
        for r in &resources {
            s.spawn(move || {
                for i in 0..1001 {
                    let mut g = r.get_blocking().unwrap();
                    *g += 1;
                    if i % 2 == 0 {
                        drop(g)
                    } else {
                        g.release().unwrap()
                    }
                }
            });
        }
    });
    let st = pool.stats();
    assert_eq!(st.in_use, 0);
    assert_eq!(
        st.idle + st.releasing + st.allocating,
        live.load(Ordering::SeqCst)
    );
    drop(resources);
    assert_eq!(live.load(Ordering::SeqCst), 0);
    let _ = Error::<std::io::Error>::PutTimeout;
}
