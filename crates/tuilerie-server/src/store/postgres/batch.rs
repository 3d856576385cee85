//! One batch written to PostgreSQL: the audit entries and their effects,
//! then the observations, numbered from the sequence lock's next number,
//! and the notice to the other servers.

use super::CHANNEL;
use crate::store::{Effect, ObservationRecord, Observed, Write};

/// Writes a batch and its observations from sequence number `next` on, in
/// an open transaction holding the sequence lock, and notifies the other
/// servers (delivered when the transaction commits).
pub(super) fn insert(
    tx: &mut postgres::Transaction<'_>,
    mut next: i64,
    batch: &[Write],
    observations: &[ObservationRecord],
) -> Result<(Vec<i64>, Vec<Observed>), postgres::Error> {
    let first = next;
    let log = tx.prepare(
        "INSERT INTO changes (seq, at, token, op, kind, layer, id, before, after) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )?;
    let mut seqs = Vec::with_capacity(batch.len());
    for w in batch {
        let c = &w.change;
        let seq = next;
        next += 1;
        tx.execute(&log, &[&seq, &c.at, &c.token, &c.op, &c.kind, &c.layer, &c.id, &c.before, &c.after])?;
        seqs.push(seq);
        match &w.effect {
            Effect::Feature { created, content } => tx.execute(
                "INSERT INTO features (layer, id, created, seq, content) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (layer, id) DO UPDATE SET seq = EXCLUDED.seq, content = EXCLUDED.content",
                &[&c.layer, &c.id, created, &seq, content],
            )?,
            Effect::PutMap { definition } => tx.execute(
                "INSERT INTO maps (id, definition, seq) VALUES ($1, $2, $3)
                 ON CONFLICT (id) DO UPDATE SET definition = EXCLUDED.definition, seq = EXCLUDED.seq",
                &[&c.id, definition, &seq],
            )?,
            Effect::DeleteMap => tx.execute("DELETE FROM maps WHERE id = $1", &[&c.id])?,
            Effect::PutTable { name, csv } => tx.execute(
                "INSERT INTO csv_tables (id, name, csv, seq) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, csv = EXCLUDED.csv, seq = EXCLUDED.seq",
                &[&c.id, name, &csv.as_ref(), &seq],
            )?,
            Effect::DeleteTable => tx.execute("DELETE FROM csv_tables WHERE id = $1", &[&c.id])?,
        };
    }
    let mut observed = Vec::with_capacity(observations.len());
    if !observations.is_empty() {
        let insert = tx.prepare(
            "INSERT INTO observations (seq, layer, feature, kind, category, source, observed_at, value, count, state, until, token, received)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
             ON CONFLICT (layer, feature, observed_at, kind, category, source) DO NOTHING",
        )?;
        let current = tx.prepare(
            "INSERT INTO current_status (layer, feature, kind, category, observed_at, seq) VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (layer, feature, kind, category) DO UPDATE SET observed_at = EXCLUDED.observed_at, seq = EXCLUDED.seq
             WHERE EXCLUDED.observed_at > current_status.observed_at
                OR (EXCLUDED.observed_at = current_status.observed_at AND EXCLUDED.seq > current_status.seq)",
        )?;
        for o in observations {
            let n = tx.execute(
                &insert,
                &[
                    &next,
                    &o.layer,
                    &o.feature,
                    &o.kind,
                    &o.category,
                    &o.source,
                    &o.observed_at,
                    &o.value,
                    &o.count,
                    &o.state,
                    &o.until,
                    &o.token,
                    &o.received,
                ],
            )?;
            if n == 0 {
                observed.push(Observed::Duplicate);
                continue;
            }
            tx.execute(&current, &[&o.layer, &o.feature, &o.kind, &o.category, &o.observed_at, &next])?;
            observed.push(Observed::Stored(next));
            next += 1;
        }
    }
    if next > first {
        // Delivered to the other servers when the commit is.
        tx.execute("SELECT pg_notify($1, $2)", &[&CHANNEL, &(next - 1).to_string()])?;
    }
    Ok((seqs, observed))
}
