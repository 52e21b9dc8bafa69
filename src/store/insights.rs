//! What the insights read, kept in step with activity (migration 0003): members'
//! first and last active days, retention-cohort counts, activity by UTC hour,
//! the days of each member's 1st, 2nd and 4th contribution, and which members'
//! health signals need computing again. Metric definitions: shared/docs/PRODUCT.md.
