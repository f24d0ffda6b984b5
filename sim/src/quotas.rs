//! The daily quotas of limiteApeluriAPI.txt, counted per Romanian calendar day of the
//! simulator clock:
//! - upload: 1000 RASP files / day / CUI (invoices unlimited);
//! - stareMesaj: 100 queries / message / day;
//! - listaMesajeFactura: 1500 / day / CUI; paginated: 100 000 / day / CUI;
//! - descarcare: 10 / message / day.

use std::collections::HashMap;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    UploadRasp,
    Stare,
    Lista,
    ListaPaginata,
    Descarcare,
}

impl Kind {
    pub fn default_limit(self) -> u32 {
        match self {
            Kind::UploadRasp => 1000,
            Kind::Stare => 100,
            Kind::Lista => 1500,
            Kind::ListaPaginata => 100_000,
            Kind::Descarcare => 10,
        }
    }
}

#[derive(Default)]
pub struct Quotas {
    day: String,
    counts: HashMap<(Kind, String), u32>,
    /// Overrides of the limits (tests lower them to reach them quickly).
    pub limits: HashMap<Kind, u32>,
}

impl Quotas {
    pub fn limit(&self, kind: Kind) -> u32 {
        self.limits
            .get(&kind)
            .copied()
            .unwrap_or(kind.default_limit())
    }

    /// Counts one call; Err(limit) when the day's quota was already used up.
    pub fn hit(&mut self, now_ms: i64, kind: Kind, key: &str) -> Result<(), u32> {
        let day = crate::clock::ro_time(now_ms).format("%Y-%m-%d").to_string();
        if day != self.day {
            self.day = day;
            self.counts.clear();
        }
        let limit = self.limit(kind);
        let n = self.counts.entry((kind, key.to_string())).or_insert(0);
        if *n >= limit {
            return Err(limit);
        }
        *n += 1;
        Ok(())
    }

    pub fn reset_counts(&mut self) {
        self.counts.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_key_and_per_romanian_day() {
        let mut q = Quotas::default();
        q.limits.insert(Kind::Descarcare, 2);
        // 2022-11-02 21:30 UTC = 23:30 in Bucharest; 22:30 UTC is already the next day there.
        let t = 1_667_424_600_000;
        assert_eq!(q.hit(t, Kind::Descarcare, "1"), Ok(()));
        assert_eq!(q.hit(t, Kind::Descarcare, "1"), Ok(()));
        assert_eq!(q.hit(t, Kind::Descarcare, "1"), Err(2));
        assert_eq!(q.hit(t, Kind::Descarcare, "2"), Ok(()), "another message");
        assert_eq!(q.hit(t, Kind::Stare, "1"), Ok(()), "another kind");
        assert_eq!(
            q.hit(t + 3_600_000, Kind::Descarcare, "1"),
            Ok(()),
            "a new day"
        );
    }
}
