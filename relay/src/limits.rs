//! Rate limits (GCRA token buckets, governor): every request per client address, and
//! link creation per installation key. They live in this process: behind a balancer,
//! each instance counts its own share.

use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

/// How much each client may do.
#[derive(Clone, Debug)]
pub struct RateConfig {
    /// Requests of any kind per client address per minute (also the burst).
    pub ip_per_minute: u32,
    /// Links one installation key may make per hour (also the burst).
    pub key_links_per_hour: u32,
}

impl Default for RateConfig {
    fn default() -> Self {
        // A waiting ERP polls once a second: several workstations behind one address fit.
        RateConfig {
            ip_per_minute: 600,
            key_links_per_hour: 120,
        }
    }
}

pub struct Limits {
    per_ip: DefaultKeyedRateLimiter<IpAddr>,
    per_key: DefaultKeyedRateLimiter<String>,
    clock: DefaultClock,
}

fn nz(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n.max(1)).expect("non-zero")
}

/// An IPv6 client usually holds a whole /64: count it as one address.
fn bucket_of(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

impl Limits {
    pub fn new(cfg: &RateConfig) -> Limits {
        let per_minute = nz(cfg.ip_per_minute);
        let per_hour = nz(cfg.key_links_per_hour);
        Limits {
            per_ip: DefaultKeyedRateLimiter::dashmap(
                Quota::per_minute(per_minute).allow_burst(per_minute),
            ),
            per_key: DefaultKeyedRateLimiter::dashmap(
                Quota::per_hour(per_hour).allow_burst(per_hour),
            ),
            clock: DefaultClock::default(),
        }
    }

    /// `Err(wait)` when this address must slow down.
    pub fn request(&self, ip: IpAddr) -> Result<(), Duration> {
        self.per_ip
            .check_key(&bucket_of(ip))
            .map_err(|n| n.wait_time_from(self.clock.now()))
    }

    /// `Err(wait)` when this installation has made too many links lately.
    pub fn link(&self, installation: &str) -> Result<(), Duration> {
        self.per_key
            .check_key(&installation.to_string())
            .map_err(|n| n.wait_time_from(self.clock.now()))
    }

    /// Forgets the buckets that are full again, so the tables stay small.
    pub fn tidy(&self) {
        self.per_ip.retain_recent();
        self.per_ip.shrink_to_fit();
        self.per_key.retain_recent();
    }

    /// Addresses currently tracked (tests).
    pub fn tracked(&self) -> usize {
        self.per_ip.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_limit_each_address_and_key_on_its_own() {
        let l = Limits::new(&RateConfig {
            ip_per_minute: 3,
            key_links_per_hour: 2,
        });
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        for _ in 0..3 {
            assert!(l.request(a).is_ok());
        }
        let wait = l.request(a).unwrap_err();
        assert!(
            wait > Duration::ZERO && wait <= Duration::from_secs(20),
            "{wait:?}"
        );
        assert!(l.request(b).is_ok(), "another address has its own bucket");
        assert!(l.link("i1").is_ok() && l.link("i1").is_ok());
        assert!(l.link("i1").is_err());
        assert!(l.link("i2").is_ok());
    }

    #[test]
    fn an_ipv6_client_is_counted_by_its_64() {
        let l = Limits::new(&RateConfig {
            ip_per_minute: 1,
            key_links_per_hour: 1,
        });
        assert!(l.request("2001:db8:1:2::1".parse().unwrap()).is_ok());
        assert!(l.request("2001:db8:1:2::ffff".parse().unwrap()).is_err());
        assert!(l.request("2001:db8:1:3::1".parse().unwrap()).is_ok());
        assert!(l.request("::ffff:192.0.2.9".parse().unwrap()).is_ok());
        assert!(l.request("192.0.2.9".parse().unwrap()).is_err());
    }
}
