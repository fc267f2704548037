# ruff: noqa: RUF001  (Chinese text is written with Chinese punctuation)
"""searchKnowledgeBase: ranked full-text search with snippets, the last word as a prefix, Chinese
without spaces (jieba at write and query time), trigram matching of misspelt words, and who finds drafts."""

from __future__ import annotations

from tests.conftest import GraphQLClient, TenantHandle, add_member
from tests.knowledge.support import UPDATE_ARTICLE, create_article, search


def test_chinese_words_are_found_without_spaces_and_ranked_by_how_well_they_match(owner: GraphQLClient) -> None:
    login = create_article(
        owner,
        "无法登录账户，密码重置邮件没有收到",
        "用户点击忘记密码后一直没有收到邮件。",
        "检查垃圾邮件文件夹，然后重新发送。",
    )
    mail_only = create_article(owner, "邮件发送失败", "系统通知邮件无法发送。", "检查邮件服务器的设置。")
    create_article(owner, "发票抬头修改", "客户需要修改发票抬头。", "在订单详情中修改。")

    hits = search(owner, "密码重置")
    assert [hit["article"]["id"] for hit in hits][:1] == [login]
    assert all(hit["article"]["id"] != mail_only or hit["rank"] < hits[0]["rank"] for hit in hits)
    assert "<b>密码</b><b>重置</b>" in hits[0]["snippet"]  # highlighted, without segmentation's spaces

    # A word inside the sentence, and a query of two words of which only one is in the other article.
    assert [hit["article"]["id"] for hit in search(owner, "登录")] == [login]
    ranked = [hit["article"]["id"] for hit in search(owner, "邮件")]
    assert set(ranked) == {login, mail_only}
    assert search(owner, "密码 邮件")[0]["article"]["id"] == login


def test_english_is_ranked_by_where_and_how_close_the_words_are(owner: GraphQLClient) -> None:
    title = create_article(owner, "Password reset e-mail never arrives", "After asking for a reset the user waits.")
    body = create_article(
        owner, "Account locked", "The password was typed wrong too often.", "Wait, then reset it from the login page."
    )
    create_article(owner, "Invoice address", "The invoice shows the old address.", "Edit the customer's address.")

    hits = search(owner, "password reset")
    assert [hit["article"]["id"] for hit in hits] == [title, body]
    assert hits[0]["rank"] > hits[1]["rank"] > 0
    assert "<b>Password</b> <b>reset</b>" in hits[0]["snippet"]


def test_the_last_word_matches_as_a_prefix(owner: GraphQLClient) -> None:
    article = create_article(owner, "Synchronisation stalls", "Calendar synchronisation stops after an hour.")
    assert [hit["article"]["id"] for hit in search(owner, "calendar synchro")] == [article]
    assert search(owner, "synchro calendar")[0]["article"]["id"] == article  # both words whole
    assert search(owner, "synchro calend")[0]["article"]["id"] == article
    assert search(owner, "synchro zzz") == []


def test_a_misspelt_word_is_found_by_trigrams(owner: GraphQLClient) -> None:
    article = create_article(owner, "Printer driver", "The printer driver crashes on start.")
    hits = search(owner, "printr")
    assert [hit["article"]["id"] for hit in hits] == [article]
    assert 0 < hits[0]["rank"] <= 0.1  # a trigram match alone counts for less than any word match


def test_snippets_are_escaped_html(owner: GraphQLClient) -> None:
    create_article(owner, "Script tags", "Pasting <script>alert(1)</script> into the name field breaks it.")
    snippet = search(owner, "script")[0]["snippet"]
    assert "<script>" not in snippet and "&lt;" in snippet and "<b>" in snippet


def test_drafts_are_found_only_by_staff_who_ask(owner: GraphQLClient, tenant: TenantHandle) -> None:
    draft = create_article(owner, "Firmware rollback", "How to roll firmware back.", publish=False)
    assert search(owner, "firmware") == []
    assert [hit["article"]["id"] for hit in search(owner, "firmware", drafts=True)] == [draft]
    viewer = add_member(owner, tenant, "viewer")
    assert [hit["article"]["id"] for hit in search(viewer, "firmware", drafts=True)] == [draft]


def test_updating_the_text_moves_its_words(owner: GraphQLClient) -> None:
    article = create_article(owner, "Modem lights", "The modem blinks red.")
    assert search(owner, "router") == []
    changed = owner.data(UPDATE_ARTICLE, {"input": {"id": article, "problem": "The router blinks red."}})
    assert changed["updateArticle"]["userErrors"] == []
    assert [hit["article"]["id"] for hit in search(owner, "router")] == [article]
    assert search(owner, "modem")[0]["article"]["id"] == article  # still in the title


def test_bad_queries(owner: GraphQLClient) -> None:
    create_article(owner, "Anything")
    assert search(owner, "") == [] and search(owner, "，。!") == []
    assert owner.error_codes("query($q: String!) { searchKnowledgeBase(query: $q) { rank } }", {"q": "x" * 201}) == [
        "BAD_USER_INPUT"
    ]
    assert owner.error_codes('{ searchKnowledgeBase(query: "a", first: 51) { rank } }') == ["BAD_USER_INPUT"]


def test_another_tenant_finds_nothing(owner: GraphQLClient, other_owner: GraphQLClient) -> None:
    create_article(owner, "Tenant secret", "Only ours.")
    assert search(owner, "secret") and search(other_owner, "secret", drafts=True) == []


def test_search_is_one_statement_whatever_the_number_of_hits(owner: GraphQLClient) -> None:
    for n in range(6):
        create_article(owner, f"Gateway timeout {n}", "The gateway answers 504.")
    counts = set()
    for first in (1, 3, 6):
        assert len(search(owner, "gateway", first=first)) == first
        counts.add(owner.last_statements)
    assert len(counts) == 1 and counts.pop() <= 2  # the search, after the transaction's tenant setting
