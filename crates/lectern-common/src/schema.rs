//! The one diesel schema for both backends: ids are `Text`, instants are UTC `Timestamp`.
//! Hand-maintained next to `migrations/{sqlite,postgres}`, which must agree with it.

diesel::table! {
    users (id) {
        id -> Text,
        email -> Text,
        display_name -> Text,
        role -> Text,
        created_at -> Timestamp,
        /// An IANA name (`timefmt::Zone`); pages show times in it, forms read them in it.
        time_zone -> Text,
    }
}

diesel::table! {
    sessions (id) {
        id -> Text,
        user_id -> Text,
        created_at -> Timestamp,
        last_used_at -> Timestamp,
        user_agent -> Nullable<Text>,
        revoked_at -> Nullable<Timestamp>,
        revoked_reason -> Nullable<Text>,
    }
}

diesel::table! {
    /// auth-core only (PostgreSQL: schema `auth`).
    refresh_tokens (token_hash) {
        token_hash -> Text,
        session_id -> Text,
        issued_at -> Timestamp,
        spent_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    /// auth-core only (PostgreSQL: schema `auth`).
    signing_keys (kid) {
        kid -> Text,
        purpose -> Text,
        alg -> Text,
        private_key -> Text,
        public_jwk -> Text,
        created_at -> Timestamp,
        activates_at -> Timestamp,
    }
}

diesel::table! {
    /// auth-core only (PostgreSQL: schema `auth`); values sealed with the key-encryption key.
    secrets (name) {
        name -> Text,
        secret -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// auth-core only (PostgreSQL: schema `auth`).
    password_hashes (user_id) {
        user_id -> Text,
        hash -> Text,
    }
}

diesel::table! {
    /// auth-core only (PostgreSQL: schema `auth`): registered OpenID Connect clients.
    oidc_clients (id) {
        id -> Text,
        name -> Text,
        secret_hash -> Nullable<Text>,
        id_token_alg -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// auth-core only (PostgreSQL: schema `auth`).
    oidc_redirect_uris (client_id, uri) {
        client_id -> Text,
        uri -> Text,
    }
}

diesel::table! {
    /// auth-core only (PostgreSQL: schema `auth`): authorization codes, by SHA-256.
    oidc_codes (code_hash) {
        code_hash -> Text,
        client_id -> Text,
        user_id -> Text,
        session_id -> Text,
        redirect_uri -> Text,
        code_challenge -> Text,
        nonce -> Nullable<Text>,
        scope -> Text,
        auth_time -> Timestamp,
        issued_at -> Timestamp,
        expires_at -> Timestamp,
        spent_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    /// auth-core only (PostgreSQL: schema `auth`): opaque userinfo tokens, by SHA-256.
    oidc_access_tokens (token_hash) {
        token_hash -> Text,
        code_hash -> Text,
        client_id -> Text,
        user_id -> Text,
        session_id -> Text,
        scope -> Text,
        issued_at -> Timestamp,
        expires_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    /// auth-core only (PostgreSQL: schema `auth`).
    oidc_consents (user_id, client_id) {
        user_id -> Text,
        client_id -> Text,
        scope -> Text,
        granted_at -> Timestamp,
    }
}

diesel::table! {
    server_secrets (name) {
        name -> Text,
        secret -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    courses (id) {
        id -> Text,
        title -> Text,
        summary -> Text,
        published -> Bool,
        enrollment_code -> Text,
        created_by -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    /// A course's teachers and graders (`role`: `teacher` or `grader`); teacher accounts only.
    course_staff (course_id, user_id) {
        course_id -> Text,
        user_id -> Text,
        role -> Text,
        added_at -> Timestamp,
    }
}

diesel::table! {
    enrollments (course_id, student_id) {
        course_id -> Text,
        student_id -> Text,
        enrolled_at -> Timestamp,
    }
}

diesel::table! {
    materials (id) {
        id -> Text,
        course_id -> Text,
        title -> Text,
        body_markdown -> Text,
        body_html -> Text,
        position -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    assignments (id) {
        id -> Text,
        course_id -> Text,
        title -> Text,
        instructions -> Text,
        due_at -> Timestamp,
        max_points_hundredths -> Integer,
        max_attempts -> Nullable<Integer>,
        grades_released -> Bool,
        created_by -> Text,
        created_at -> Timestamp,
        /// Hundredths of a percent; the three late-policy columns are all NULL or all set
        /// (`close_after_days` may be NULL on its own).
        late_percent_per_day -> Nullable<Integer>,
        late_max_percent -> Nullable<Integer>,
        close_after_days -> Nullable<Integer>,
    }
}

diesel::table! {
    extensions (assignment_id, student_id) {
        assignment_id -> Text,
        student_id -> Text,
        due_at -> Timestamp,
        granted_by -> Text,
        granted_at -> Timestamp,
    }
}

diesel::table! {
    submissions (id) {
        id -> Text,
        assignment_id -> Text,
        student_id -> Text,
        attempt -> Integer,
        body -> Text,
        body_sha256 -> Text,
        submitted_at -> Timestamp,
        late -> Bool,
    }
}

diesel::table! {
    grades (submission_id) {
        submission_id -> Text,
        score_hundredths -> Integer,
        feedback -> Text,
        graded_by -> Text,
        graded_at -> Timestamp,
        revision -> Integer,
    }
}

diesel::table! {
    grade_history (id) {
        id -> Text,
        submission_id -> Text,
        revision -> Integer,
        old_score_hundredths -> Nullable<Integer>,
        new_score_hundredths -> Integer,
        feedback -> Text,
        graded_by -> Text,
        graded_at -> Timestamp,
    }
}

diesel::table! {
    idempotency_keys (user_id, idempotency_key) {
        user_id -> Text,
        idempotency_key -> Text,
        request_fingerprint -> Text,
        response_status -> Integer,
        response_body -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// The bytes of submitted files, once per SHA-256 (PostgreSQL `bytea`, SQLite `BLOB`).
    file_blobs (sha256) {
        sha256 -> Text,
        size -> BigInt,
        content -> Binary,
        created_at -> Timestamp,
    }
}

diesel::table! {
    submission_files (id) {
        id -> Text,
        submission_id -> Text,
        position -> Integer,
        name -> Text,
        content_type -> Text,
        size -> BigInt,
        sha256 -> Text,
    }
}

diesel::table! {
    /// Append-only (triggers refuse UPDATE and DELETE); `seq` orders it.
    audit_log (seq) {
        seq -> BigInt,
        course_id -> Text,
        at -> Timestamp,
        actor_kind -> Text,
        actor_id -> Text,
        actor_name -> Text,
        action -> Text,
        object_type -> Text,
        object_id -> Text,
        details -> Text,
    }
}

diesel::table! {
    /// One row, kept exact by triggers (migration 000004): the number of published courses.
    catalog_stats (id) {
        id -> Integer,
        published_courses -> BigInt,
    }
}

diesel::table! {
    /// LTI tools registered by the operator (`lectern lti tools add`); readable by every service,
    /// written by auth-core's CLI only.
    lti_tools (id) {
        id -> Text,
        name -> Text,
        client_id -> Text,
        deployment_id -> Text,
        login_url -> Text,
        target_link_uri -> Text,
        jwks_url -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    lti_tool_redirect_uris (tool_id, uri) {
        tool_id -> Text,
        uri -> Text,
    }
}

diesel::table! {
    /// A registered tool placed in a course by one of its teachers.
    lti_tool_links (id) {
        id -> Text,
        course_id -> Text,
        tool_id -> Text,
        title -> Text,
        assignment_id -> Nullable<Text>,
        created_by -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// The `timestamp` of the last score a tool posted per assignment and student.
    lti_score_times (assignment_id, student_id) {
        assignment_id -> Text,
        student_id -> Text,
        scored_at -> Timestamp,
    }
}

diesel::table! {
    /// auth-core only (PostgreSQL: schema `auth`): nonces of LTI authorization requests, by SHA-256.
    lti_nonces (tool_id, nonce_hash) {
        tool_id -> Text,
        nonce_hash -> Text,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    /// auth-core only (PostgreSQL: schema `auth`): `jti`s of client assertions, by SHA-256.
    lti_assertion_jtis (tool_id, jti_hash) {
        tool_id -> Text,
        jti_hash -> Text,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    /// auth-core only (PostgreSQL: schema `auth`): opaque LTI service tokens, by SHA-256.
    lti_access_tokens (token_hash) {
        token_hash -> Text,
        tool_id -> Text,
        scope -> Text,
        issued_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(refresh_tokens -> sessions (session_id));
diesel::joinable!(courses -> users (created_by));
diesel::joinable!(course_staff -> courses (course_id));
diesel::joinable!(course_staff -> users (user_id));
diesel::joinable!(extensions -> assignments (assignment_id));
diesel::joinable!(extensions -> users (student_id));
diesel::joinable!(submission_files -> submissions (submission_id));
diesel::joinable!(submission_files -> file_blobs (sha256));
diesel::joinable!(audit_log -> courses (course_id));
diesel::joinable!(enrollments -> courses (course_id));
diesel::joinable!(enrollments -> users (student_id));
diesel::joinable!(materials -> courses (course_id));
diesel::joinable!(assignments -> courses (course_id));
diesel::joinable!(assignments -> users (created_by));
diesel::joinable!(submissions -> assignments (assignment_id));
diesel::joinable!(submissions -> users (student_id));
diesel::joinable!(grades -> submissions (submission_id));
diesel::joinable!(grades -> users (graded_by));
diesel::joinable!(grade_history -> submissions (submission_id));
diesel::joinable!(grade_history -> users (graded_by));
diesel::joinable!(idempotency_keys -> users (user_id));
diesel::joinable!(password_hashes -> users (user_id));
diesel::joinable!(oidc_redirect_uris -> oidc_clients (client_id));
diesel::joinable!(oidc_consents -> oidc_clients (client_id));
diesel::joinable!(oidc_access_tokens -> users (user_id));
diesel::joinable!(oidc_access_tokens -> sessions (session_id));
diesel::joinable!(oidc_codes -> sessions (session_id));
diesel::joinable!(lti_tool_redirect_uris -> lti_tools (tool_id));
diesel::joinable!(lti_tool_links -> lti_tools (tool_id));
diesel::joinable!(lti_tool_links -> courses (course_id));
diesel::joinable!(lti_access_tokens -> lti_tools (tool_id));

diesel::allow_tables_to_appear_in_same_query!(
    catalog_stats,
    users,
    sessions,
    refresh_tokens,
    signing_keys,
    secrets,
    password_hashes,
    oidc_clients,
    oidc_redirect_uris,
    oidc_codes,
    oidc_access_tokens,
    oidc_consents,
    server_secrets,
    courses,
    course_staff,
    enrollments,
    materials,
    assignments,
    submissions,
    grades,
    grade_history,
    idempotency_keys,
    extensions,
    file_blobs,
    submission_files,
    audit_log,
    lti_tools,
    lti_tool_redirect_uris,
    lti_tool_links,
    lti_score_times,
    lti_nonces,
    lti_assertion_jtis,
    lti_access_tokens,
);
