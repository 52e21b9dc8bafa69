//! Who may correct a contribution (issue 18 §3): its member, within
//! [`OWN_CORRECTION_DAYS`] of logging it; organisers, any of them, any time.

use chrono::{DateTime, Duration, Utc};

use crate::domain::{ContributionId, MemberId, UserError};

/// How long a member may edit or remove a contribution of their own, from when
/// they logged it.
pub const OWN_CORRECTION_DAYS: i64 = 7;

/// Who asks to correct a contribution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Corrector {
    pub member: MemberId,
    pub organiser: bool,
}

/// Whether `by` may correct contribution `id`, of `owner`, logged at `logged`.
pub fn may_correct(
    by: Corrector,
    id: ContributionId,
    owner: MemberId,
    logged: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), UserError> {
    if by.organiser {
        return Ok(());
    }
    if owner != by.member {
        return Err(UserError::invalid(
            format!("Contribution #{id} is not yours."),
            "Members correct their own contributions; ask an organiser to correct someone else's.",
        ));
    }
    if now - logged > Duration::days(OWN_CORRECTION_DAYS) {
        return Err(UserError::invalid(
            format!("Contribution #{id} was logged more than {OWN_CORRECTION_DAYS} days ago."),
            format!(
                "Your own contributions can be corrected for {OWN_CORRECTION_DAYS} days after you log them; ask an organiser."
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn members_correct_their_own_for_seven_days_and_organisers_any_any_time() {
        let logged = Utc.with_ymd_and_hms(2026, 11, 1, 12, 0, 0).unwrap();
        let (ada, bob) = (MemberId(1), MemberId(2));
        let id = ContributionId(9);
        let member = |m| Corrector {
            member: m,
            organiser: false,
        };
        let in_time = logged + Duration::days(7);
        let late = in_time + Duration::seconds(1);
        assert!(may_correct(member(ada), id, ada, logged, in_time).is_ok());
        let e = may_correct(member(ada), id, ada, logged, late).unwrap_err();
        assert!(e.to_string().contains("more than 7 days ago"), "{e}");
        let e = may_correct(member(bob), id, ada, logged, logged).unwrap_err();
        assert!(e.to_string().contains("#9 is not yours"), "{e}");
        let organiser = Corrector {
            member: bob,
            organiser: true,
        };
        assert!(may_correct(organiser, id, ada, logged, late + Duration::days(400)).is_ok());
    }
}
