//! `users.role` as a [`Role`], not as text compared by hand. token-claims stays free of diesel, so
//! the column mapping lives here, on a newtype: `RoleColumn(Role::Student)` in a query, and a
//! row field of type `RoleColumn` reads back as a role or fails the query (a stored value that is
//! no role is a broken database, not a student).

use crate::db::MultiBackend;
use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql};
use diesel::pg::Pg;
use diesel::serialize::{self, IsNull, Output, ToSql};
use diesel::sql_types::Text;
use diesel::sqlite::Sqlite;
use token_claims::Role;

/// A [`Role`] stored in a `Text` column (`teacher`, `student`: the claim values).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, diesel::expression::AsExpression, diesel::deserialize::FromSqlRow,
)]
#[diesel(sql_type = Text)]
pub struct RoleColumn(pub Role);

impl From<Role> for RoleColumn {
    fn from(role: Role) -> Self {
        Self(role)
    }
}

impl From<RoleColumn> for Role {
    fn from(column: RoleColumn) -> Self {
        column.0
    }
}

fn parse(text: &str) -> deserialize::Result<RoleColumn> {
    text.parse::<Role>().map(RoleColumn).map_err(|_| format!("users.role holds {text:?}, which is no role").into())
}

impl ToSql<Text, Pg> for RoleColumn {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
        use std::io::Write;
        out.write_all(self.0.as_str().as_bytes())?;
        Ok(IsNull::No)
    }
}

impl ToSql<Text, Sqlite> for RoleColumn {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> serialize::Result {
        out.set_value(self.0.as_str());
        Ok(IsNull::No)
    }
}

impl ToSql<Text, MultiBackend> for RoleColumn {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, MultiBackend>) -> serialize::Result {
        out.set_value((Text, self));
        Ok(IsNull::No)
    }
}

impl FromSql<Text, Pg> for RoleColumn {
    fn from_sql(bytes: <Pg as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        parse(&<String as FromSql<Text, Pg>>::from_sql(bytes)?)
    }
}

impl FromSql<Text, Sqlite> for RoleColumn {
    fn from_sql(bytes: <Sqlite as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        parse(&<String as FromSql<Text, Sqlite>>::from_sql(bytes)?)
    }
}

impl FromSql<Text, MultiBackend> for RoleColumn {
    fn from_sql(bytes: <MultiBackend as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        bytes.from_sql::<Self, Text>()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::db::{DbConnection, establish};
    use diesel::connection::SimpleConnection;
    use diesel::prelude::*;

    diesel::table! {
        people (id) {
            id -> Integer,
            role -> Text,
        }
    }

    #[test]
    fn roles_round_trip_and_strangers_fail_the_query() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn: DbConnection = establish(&format!("sqlite://{}", dir.path().join("r.db").display())).unwrap();
        conn.batch_execute("CREATE TABLE people (id INTEGER PRIMARY KEY, role TEXT NOT NULL)").unwrap();
        for (id, role) in [(1, Role::Teacher), (2, Role::Student)] {
            diesel::insert_into(people::table)
                .values((people::id.eq(id), people::role.eq(RoleColumn(role))))
                .execute(&mut conn)
                .unwrap();
        }
        let stored: Vec<String> = people::table.order(people::id).select(people::role).load(&mut conn).unwrap();
        assert_eq!(stored, ["teacher", "student"], "stored as the claim values");
        let students: Vec<i32> = people::table
            .filter(people::role.eq(RoleColumn(Role::Student)))
            .select(people::id)
            .load(&mut conn)
            .unwrap();
        assert_eq!(students, [2]);
        let read: RoleColumn = people::table.find(1).select(people::role).first(&mut conn).unwrap();
        assert_eq!(Role::from(read), Role::Teacher);
        conn.batch_execute("INSERT INTO people VALUES (3, 'admin')").unwrap();
        let stranger = people::table.find(3).select(people::role).first::<RoleColumn>(&mut conn);
        assert!(stranger.is_err(), "a stored value that is no role fails the query");
    }
}
