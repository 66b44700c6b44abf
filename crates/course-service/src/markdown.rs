//! Material Markdown to HTML: rendered by pulldown-cmark, then cleaned by ammonia's allow-list,
//! so no script, event handler, style or `javascript:` URL survives. Done once, when a material
//! is written; pages then show the stored, already sanitised HTML.

use pulldown_cmark::{Options, Parser, html};

pub fn render(markdown: &str) -> String {
    let options =
        Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_FOOTNOTES | Options::ENABLE_TASKLISTS;
    let mut raw = String::with_capacity(markdown.len() * 3 / 2);
    html::push_html(&mut raw, Parser::new_ext(markdown, options));
    ammonia::Builder::default()
        .url_schemes(["http", "https", "mailto"].into_iter().collect())
        .link_rel(Some("noopener noreferrer nofollow"))
        .clean(&raw)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_renders() {
        let html = render("# Title\n\nSome *emphasis* and `code`.\n\n| a | b |\n|---|---|\n| 1 | 2 |\n");
        assert!(html.contains("<h1>Title</h1>"));
        assert!(html.contains("<em>emphasis</em>"));
        assert!(html.contains("<code>code</code>"));
        assert!(html.contains("<table>"));
    }

    #[test]
    fn nothing_executable_survives() {
        let attacks = [
            "<script>alert(1)</script>",
            "<img src=x onerror=alert(1)>",
            "[click](javascript:alert(1))",
            "[click](JaVaScRiPt:alert(1))",
            "<a href=\"javascript:alert(1)\">x</a>",
            "<iframe src=\"https://evil.example\"></iframe>",
            "<p style=\"background:url(javascript:alert(1))\">x</p>",
            "<svg onload=alert(1)>",
            "![x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
            "<form action=\"https://evil.example\"><input name=x></form>",
        ];
        for attack in attacks {
            let html = render(attack).to_lowercase();
            for bad in
                ["<script", "onerror", "onload", "javascript:", "<iframe", "style=", "data:text", "<form", "<input"]
            {
                assert!(!html.contains(bad), "{attack} -> {html}");
            }
        }
        assert!(render("[ok](https://example.org)").contains("rel=\"noopener noreferrer nofollow\""));
    }
}
