//! The two hints a launch sends the tool, which the tool must send back unchanged in its
//! authorization request (LTI Core 1.3 §4.1, third-party-initiated login).
//!
//! Both are opaque to the tool and made with auth-core's own key (HMAC-SHA256), so nothing is
//! stored when a launch starts:
//! - `login_hint` names the person the launch was started for: the authorization request is
//!   answered only when the browser's signed-in person is that one.
//! - `lti_message_hint` names the link, the person and the tool (so its deployment), with the time
//!   the launch started: it is good for [`LAUNCH_WINDOW`], for that person, and only when that
//!   tool presents it.

use lectern_common::csrf::CsrfKey;
use lectern_common::ids::{ToolId, ToolLinkId, UserId};
use time::OffsetDateTime;

/// How long after a launch started its authorization request may arrive.
pub const LAUNCH_WINDOW: time::Duration = time::Duration::minutes(10);

const LOGIN_HINT: &str = "lti-login-hint";
const MESSAGE_HINT: &str = "lti-message-hint";

fn millis(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// The `login_hint` of launches by `user`.
pub fn login_hint(key: &CsrfKey, user: UserId) -> String {
    key.token(LOGIN_HINT, &user.to_string())
}

/// True when `hint` is the `login_hint` of `user`.
pub fn login_hint_is_for(key: &CsrfKey, user: UserId, hint: &str) -> bool {
    key.verify(LOGIN_HINT, &user.to_string(), hint)
}

fn binding(link: ToolLinkId, user: UserId, tool: ToolId, at: i64) -> String {
    format!("{link}:{user}:{tool}:{at}")
}

/// The `lti_message_hint` of a launch of `link` (a link of `tool`) by `user` at `now`.
pub fn message_hint(key: &CsrfKey, link: ToolLinkId, user: UserId, tool: ToolId, now: OffsetDateTime) -> String {
    let at = millis(now);
    format!("{link}.{at}.{}", key.token(MESSAGE_HINT, &binding(link, user, tool, at)))
}

/// The link a genuine, recent hint names, when `user` started that launch and `tool` presents it.
pub fn link_of_message_hint(
    key: &CsrfKey,
    hint: &str,
    user: UserId,
    tool: ToolId,
    now: OffsetDateTime,
) -> Option<ToolLinkId> {
    let mut parts = hint.splitn(3, '.');
    let (link, at, mac) = (parts.next()?, parts.next()?, parts.next()?);
    let link: ToolLinkId = link.parse().ok()?;
    let at: i64 = at.parse().ok()?;
    // A few seconds ahead are tolerated: processes of the split shape share no clock.
    let recent = at <= millis(now) + 5_000 && at >= millis(now - LAUNCH_WINDOW);
    (recent && key.verify(MESSAGE_HINT, &binding(link, user, tool, at), mac)).then_some(link)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_login_hint_names_one_person() {
        let key = CsrfKey::new([7; 64]);
        let (ada, bob) = (UserId::new(), UserId::new());
        let hint = login_hint(&key, ada);
        assert!(login_hint_is_for(&key, ada, &hint));
        assert!(!login_hint_is_for(&key, bob, &hint), "another person");
        assert!(!login_hint_is_for(&CsrfKey::new([8; 64]), ada, &hint), "another key");
        assert!(!login_hint_is_for(&key, ada, "not-a-hint"));
    }

    #[test]
    fn the_message_hint_is_bound_to_link_person_tool_and_time() {
        let key = CsrfKey::new([7; 64]);
        let (link, user, tool) = (ToolLinkId::new(), UserId::new(), ToolId::new());
        let now = OffsetDateTime::UNIX_EPOCH + time::Duration::days(20_000);
        let hint = message_hint(&key, link, user, tool, now);
        assert_eq!(link_of_message_hint(&key, &hint, user, tool, now), Some(link));
        assert_eq!(link_of_message_hint(&key, &hint, UserId::new(), tool, now), None, "another person");
        assert_eq!(link_of_message_hint(&key, &hint, user, ToolId::new(), now), None, "another tool");
        let late = now + LAUNCH_WINDOW + time::Duration::SECOND;
        assert_eq!(link_of_message_hint(&key, &hint, user, tool, late), None, "too late");
        let other_link = hint.replacen(&link.to_string(), &ToolLinkId::new().to_string(), 1);
        assert_eq!(link_of_message_hint(&key, &other_link, user, tool, now), None, "another link");
        assert_eq!(link_of_message_hint(&key, "garbage", user, tool, now), None);
    }
}
