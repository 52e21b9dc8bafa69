//! The domain's id newtypes as database values: each is stored as the integer it
//! wraps. Written for any database whose driver stores an i64, so every engine
//! Keel runs on shares them.

use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::{Database, Decode, Encode, Type};

use crate::domain::{
    AnnouncementId, CommunityId, ContributionId, EventId, GoalId, MemberId, PairingGroupId,
    WorkspaceId,
};

macro_rules! stored_as_i64 {
    ($($name:ident),*) => {$(
        impl<DB: Database> Type<DB> for $name
        where
            i64: Type<DB>,
        {
            fn type_info() -> DB::TypeInfo {
                <i64 as Type<DB>>::type_info()
            }

            fn compatible(ty: &DB::TypeInfo) -> bool {
                <i64 as Type<DB>>::compatible(ty)
            }
        }

        impl<'q, DB: Database> Encode<'q, DB> for $name
        where
            i64: Encode<'q, DB>,
        {
            fn encode_by_ref(
                &self,
                buf: &mut <DB as Database>::ArgumentBuffer,
            ) -> Result<IsNull, BoxDynError> {
                <i64 as Encode<'q, DB>>::encode_by_ref(&self.0, buf)
            }

            fn produces(&self) -> Option<DB::TypeInfo> {
                <i64 as Encode<'q, DB>>::produces(&self.0)
            }

            fn size_hint(&self) -> usize {
                <i64 as Encode<'q, DB>>::size_hint(&self.0)
            }
        }

        impl<'r, DB: Database> Decode<'r, DB> for $name
        where
            i64: Decode<'r, DB>,
        {
            fn decode(value: <DB as Database>::ValueRef<'r>) -> Result<Self, BoxDynError> {
                <i64 as Decode<'r, DB>>::decode(value).map($name)
            }
        }
    )*};
}

stored_as_i64!(
    CommunityId,
    WorkspaceId,
    MemberId,
    GoalId,
    ContributionId,
    AnnouncementId,
    EventId,
    PairingGroupId
);
