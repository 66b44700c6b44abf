//! The LTI claims of a resource-link launch (LTI Core 1.3 §5), the role vocabulary (LIS v2,
//! LTI Core 1.3 appendix A.2), and the service scopes (AGS 2.0, NRPS 2.0).

use course_service::service::tool_links::Relation;
use serde_json::{Map, Value, json};
use token_claims::Role;

pub const MESSAGE_TYPE: &str = "https://purl.imsglobal.org/spec/lti/claim/message_type";
pub const VERSION: &str = "https://purl.imsglobal.org/spec/lti/claim/version";
pub const DEPLOYMENT_ID: &str = "https://purl.imsglobal.org/spec/lti/claim/deployment_id";
pub const TARGET_LINK_URI: &str = "https://purl.imsglobal.org/spec/lti/claim/target_link_uri";
pub const RESOURCE_LINK: &str = "https://purl.imsglobal.org/spec/lti/claim/resource_link";
pub const ROLES: &str = "https://purl.imsglobal.org/spec/lti/claim/roles";
pub const CONTEXT: &str = "https://purl.imsglobal.org/spec/lti/claim/context";
pub const TOOL_PLATFORM: &str = "https://purl.imsglobal.org/spec/lti/claim/tool_platform";
pub const AGS_ENDPOINT: &str = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint";
pub const NRPS: &str = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice";

/// The scopes of the services, and what the token endpoint may grant.
pub const SCOPE_LINEITEM_READONLY: &str = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly";
pub const SCOPE_LINEITEM: &str = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem";
pub const SCOPE_RESULT_READONLY: &str = "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly";
pub const SCOPE_SCORE: &str = "https://purl.imsglobal.org/spec/lti-ags/scope/score";
pub const SCOPE_MEMBERSHIPS: &str = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly";

/// What a tool may be granted. Line items are Lectern's assignments, made by teachers: a tool
/// reads them (`lineitem.readonly`) but never creates, changes or deletes them, so the `lineitem`
/// scope is not offered.
pub const GRANTABLE_SCOPES: [&str; 4] =
    [SCOPE_LINEITEM_READONLY, SCOPE_RESULT_READONLY, SCOPE_SCORE, SCOPE_MEMBERSHIPS];

/// The AGS scopes a launch offers (the claim's `scope`).
pub const AGS_SCOPES: [&str; 3] = [SCOPE_LINEITEM_READONLY, SCOPE_RESULT_READONLY, SCOPE_SCORE];

/// Context roles (LIS v2 membership vocabulary).
pub const ROLE_INSTRUCTOR: &str = "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor";
pub const ROLE_TEACHING_ASSISTANT: &str =
    "http://purl.imsglobal.org/vocab/lis/v2/membership/Instructor#TeachingAssistant";
pub const ROLE_LEARNER: &str = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner";
/// Institution roles: what the person's Lectern account is.
pub const INSTITUTION_INSTRUCTOR: &str = "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Instructor";
pub const INSTITUTION_STUDENT: &str = "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Student";

/// The context type of a course (LTI Core 1.3 §A.1).
pub const COURSE_OFFERING: &str = "http://purl.imsglobal.org/vocab/lis/v2/course#CourseOffering";

/// The context role of a relationship to the course. A grader is sent the TeachingAssistant
/// sub-role alone, without its principal Instructor role: tools that see `Instructor` grant
/// every teacher's right, and a grader has only some of them.
pub fn context_role(relation: Relation) -> &'static str {
    match relation {
        Relation::Teacher => ROLE_INSTRUCTOR,
        Relation::Grader => ROLE_TEACHING_ASSISTANT,
        Relation::Student => ROLE_LEARNER,
    }
}

/// The roles of a launch: the context role, then the institution role of the account.
pub fn launch_roles(role: Role, relation: Relation) -> Vec<&'static str> {
    let institution = match role {
        Role::Teacher => INSTITUTION_INSTRUCTOR,
        Role::Student => INSTITUTION_STUDENT,
    };
    vec![context_role(relation), institution]
}

/// A context (course) as the claim and the roster service name it.
pub fn context(id: &str, title: &str) -> Value {
    // `label` is a short name; Lectern courses have only a title, so its first 32 characters.
    let label: String = title.chars().take(32).collect();
    json!({"id": id, "label": label, "title": title, "type": [COURSE_OFFERING]})
}

/// Everything an ID token of a launch says besides the OpenID Connect claims.
pub struct Launch<'a> {
    pub deployment_id: &'a str,
    pub target_link_uri: &'a str,
    pub link_id: &'a str,
    pub link_title: &'a str,
    pub roles: Vec<&'static str>,
    pub context: Value,
    pub platform_guid: &'a str,
    /// The course's line items URL; the link's own line item when it is tied to an assignment.
    pub line_items: String,
    pub line_item: Option<String>,
    pub memberships: String,
}

impl Launch<'_> {
    /// The LTI claims, to add to the ID token's.
    pub fn claims(&self) -> Map<String, Value> {
        let mut ags = json!({"scope": AGS_SCOPES, "lineitems": self.line_items});
        if let (Some(item), Some(obj)) = (&self.line_item, ags.as_object_mut()) {
            obj.insert("lineitem".into(), item.clone().into());
        }
        let mut claims = Map::new();
        claims.insert(MESSAGE_TYPE.into(), "LtiResourceLinkRequest".into());
        claims.insert(VERSION.into(), "1.3.0".into());
        claims.insert(DEPLOYMENT_ID.into(), self.deployment_id.into());
        claims.insert(TARGET_LINK_URI.into(), self.target_link_uri.into());
        claims.insert(RESOURCE_LINK.into(), json!({"id": self.link_id, "title": self.link_title}));
        claims.insert(ROLES.into(), json!(self.roles));
        claims.insert(CONTEXT.into(), self.context.clone());
        claims.insert(
            TOOL_PLATFORM.into(),
            json!({"guid": self.platform_guid, "name": "Lectern", "product_family_code": "lectern",
                   "version": env!("CARGO_PKG_VERSION")}),
        );
        claims.insert(AGS_ENDPOINT.into(), ags);
        claims.insert(NRPS.into(), json!({"context_memberships_url": self.memberships, "service_versions": ["2.0"]}));
        claims
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_name_the_relationship_and_the_account() {
        assert_eq!(launch_roles(Role::Teacher, Relation::Teacher), [ROLE_INSTRUCTOR, INSTITUTION_INSTRUCTOR]);
        assert_eq!(launch_roles(Role::Teacher, Relation::Grader), [ROLE_TEACHING_ASSISTANT, INSTITUTION_INSTRUCTOR]);
        assert_eq!(launch_roles(Role::Student, Relation::Student), [ROLE_LEARNER, INSTITUTION_STUDENT]);
    }

    #[test]
    fn the_grade_service_claim_names_the_line_item_only_when_there_is_one() {
        let mut launch = Launch {
            deployment_id: "d",
            target_link_uri: "https://tool.example/launch",
            link_id: "l",
            link_title: "Quiz",
            roles: vec![ROLE_LEARNER],
            context: context("c", "A course whose title is longer than thirty-two characters"),
            platform_guid: "https://lectern.example",
            line_items: "https://lectern.example/api/lti/courses/c/lineitems".into(),
            line_item: None,
            memberships: "https://lectern.example/api/lti/courses/c/memberships".into(),
        };
        let claims = launch.claims();
        assert!(claims[AGS_ENDPOINT].get("lineitem").is_none());
        assert_eq!(claims[CONTEXT]["label"].as_str().map(|l| l.chars().count()), Some(32));
        assert_eq!(claims[NRPS]["service_versions"], json!(["2.0"]));
        launch.line_item = Some("https://lectern.example/api/lti/courses/c/lineitems/a".into());
        assert_eq!(launch.claims()[AGS_ENDPOINT]["lineitem"], "https://lectern.example/api/lti/courses/c/lineitems/a");
    }
}
