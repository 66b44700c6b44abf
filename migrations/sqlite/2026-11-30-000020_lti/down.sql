DROP TABLE lti_access_tokens;
DROP TABLE lti_assertion_jtis;
DROP TABLE lti_nonces;
DROP TABLE lti_score_times;
DROP TABLE lti_tool_links;
DROP INDEX assignments_id_course_unique;
DROP TABLE lti_tool_redirect_uris;
DROP TABLE lti_tools;
