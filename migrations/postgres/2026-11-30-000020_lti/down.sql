DROP TABLE auth.lti_access_tokens;
DROP TABLE auth.lti_assertion_jtis;
DROP TABLE auth.lti_nonces;
DROP TABLE lti_score_times;
DROP TABLE lti_tool_links;
ALTER TABLE assignments DROP CONSTRAINT assignments_id_course_unique;
DROP TABLE lti_tool_redirect_uris;
DROP TABLE lti_tools;
