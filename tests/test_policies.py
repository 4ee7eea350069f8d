"""The policy library through HTTP: register with an attachment, download under the original
name, edit, refuse bad input without changing anything, who sees and edits what, and the search
index following every change."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.policies.models import Policy
from tests.conftest import page_token, signed_in_client
from tests.policy_helpers import policy_form, post_policy, post_policy_with_file

FRAGMENT = {"HX-Request": "true", "HX-Target": "policy-results"}
POLICY_FORM_FIELDS = list(policy_form())
DOCX_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/word/document.xml" ContentType="application/'
    'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>'
)


def docx_bytes(*paragraphs: str) -> bytes:
    body = "".join(f"<w:p><w:r><w:t>{text}</w:t></w:r></w:p>" for text in paragraphs)
    document = (
        '<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="http://schemas.'
        f'openxmlformats.org/wordprocessingml/2006/main"><w:body>{body}</w:body></w:document>'
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", DOCX_TYPES)
        archive.writestr("word/document.xml", document)
    return out.getvalue()


def _files_dir(app) -> Path:
    return Path(app.config["POLICY_FILES_PATH"])


def _stored_files(app) -> list[Path]:
    folder = _files_dir(app)
    return sorted(folder.iterdir()) if folder.exists() else []


def _count(app) -> int:
    from tenants.scoping import wider_scope

    with app.app_context(), wider_scope("cli"):
        return db.session.scalar(select(func.count(Policy.id)))


def _post_new(client, form: dict, attachment=None):
    data = dict(form, csrf_token=page_token(client, "/policies/new"))
    if attachment is not None:
        name, content = attachment
        data["attachment"] = (io.BytesIO(content), name)
    return client.post("/policies/new", data=data, content_type="multipart/form-data")


def _policy_id(response) -> int:
    return int(re.search(r"/policies/(\d+)$", response.headers["Location"]).group(1))


def test_register_with_a_docx_then_download_it_under_its_chinese_name(app, http_world):
    client = signed_in_client(app, "county-a.officer")
    content = docx_bytes("第一条 对新引进的锂电池项目给予奖励。", "第二条 本办法自发布之日起施行。")
    response = _post_new(
        client,
        policy_form(title="甲县锂电产业扶持办法", doc_number="甲府办发〔2024〕3号", body=""),
        ("甲县锂电产业扶持办法（2024年修订）.docx", content),
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    policy_id = _policy_id(response)
    page = client.get(f"/policies/{policy_id}").get_data(as_text=True)
    assert "甲府办发〔2024〕3号" in page and "第一条 对新引进的锂电池项目给予奖励。" in page
    # Stored under a generated name outside the static folder, never the user's name.
    (stored,) = _stored_files(app)
    assert re.fullmatch(r"[0-9a-f]{32}", stored.name) and stored.read_bytes() == content
    assert "static" not in stored.parts
    download = client.get(f"/policies/{policy_id}/file")
    assert download.status_code == 200 and download.data == content
    assert download.mimetype.endswith("wordprocessingml.document")
    disposition = download.headers["Content-Disposition"]
    assert disposition.startswith("attachment")
    assert "filename*=UTF-8''" + quote("甲县锂电产业扶持办法（2024年修订）.docx") in disposition
    # The attachment's words are searchable.
    found = client.get("/search", query_string={"q": "锂电池项目 奖励"}).get_data(as_text=True)
    assert f"/policies/{policy_id}" in found


@pytest.mark.parametrize(
    "overrides,field_message",
    [
        ({"title": ""}, "请填写文件标题。"),
        ({"issuer": "　"}, "请填写发布机构。"),
        ({"title": "政" * 201}, "文件标题不能超过 200 个字。"),
        ({"issued_on": "2024-02-30"}, "请填写正确的日期（年-月-日）。"),
        ({"issued_on": ""}, "请填写发布日期。"),
        ({"issued_on": "2099-01-01"}, "发布日期不能晚于今天。"),
        ({"effective_on": "2024-01-01"}, "施行日期不能早于发布日期。"),
        ({"expires_on": "2024-03-01"}, "失效日期须晚于施行日期"),
        ({"expires_on": "2025-01-01", "validity": "valid"}, "失效日期已过，请将时效性改为"),
        ({"category": "其他"}, "请选择文件类别。"),
        ({"validity": "forever"}, "请选择时效性。"),
        ({"scope": "everywhere"}, "请选择公开范围。"),
        ({"body": ""}, "请填写正文，或上传文件附件。"),
    ],
)
def test_bad_input_is_refused_with_a_message_and_changes_nothing(
    app, http_world, overrides, field_message
):
    client = signed_in_client(app, "county-a.officer")
    response = _post_new(client, policy_form(**overrides))
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert field_message in body and "文件尚未保存" in body
    assert _count(app) == 0


@pytest.mark.parametrize(
    "name,content,message",
    [
        ("政策.pdf", b"MZ\x90\x00" + b"\x00" * 200, "只支持 PDF、DOCX、TXT 文件"),
        ("政策.pdf", docx_bytes("第一条"), "文件名是 .pdf，但内容实际是"),
        ("政策.doc", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, ".docx"),
        ("空文件.txt", b"", "文件是空的"),
        ("政策.pdf", b"%PDF-1.7\n this is not really a pdf", "文件已损坏"),
    ],
)
def test_a_bad_upload_is_refused_and_nothing_is_stored(app, http_world, name, content, message):
    client = signed_in_client(app, "county-a.officer")
    response = _post_new(client, policy_form(), (name, content))
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert _count(app) == 0 and _stored_files(app) == []


def test_the_size_cap_is_checked_and_a_huge_request_gets_a_chinese_page(app, http_world):
    app.config["POLICY_MAX_UPLOAD_BYTES"] = 1024 * 1024
    client = signed_in_client(app, "county-a.officer")
    text = ("第一条 为促进产业发展。\n" * 60_000).encode()  # about 1.7 MB of text
    response = _post_new(client, policy_form(), ("大文件.txt", text))
    assert response.status_code == 422 and "不能超过 1 MB" in response.get_data(as_text=True)
    app.config["MAX_CONTENT_LENGTH"] = 512 * 1024
    response = _post_new(client, policy_form(), ("大文件.txt", text))
    assert response.status_code == 413 and "上传的内容过大" in response.get_data(as_text=True)
    assert _count(app) == 0 and _stored_files(app) == []


def test_a_policy_for_one_tenant_is_seen_by_it_and_the_city_only(app, http_world):
    with app.app_context():
        own = post_policy_with_file(
            http_world,
            "county-a.officer",
            "内部.txt",
            "甲县内部掌握的奖励标准".encode(),
            title="甲县内部招商奖励细则",
            scope="own",
        )
        public = post_policy(http_world, "county-a.officer", title="甲县公开招商政策")
        db.session.remove()
    for login_name, sees_own in [
        ("county-a.officer", True),
        ("county-a.admin", True),
        ("city.officer", True),
        ("city.assessor", True),
        ("county-b.officer", False),
        ("park-a.officer", False),
        ("office.assessor", False),
        ("dept.head", False),
    ]:
        client = signed_in_client(app, login_name)
        listing = client.get("/policies").get_data(as_text=True)
        assert ("甲县内部招商奖励细则" in listing) is sees_own, login_name
        assert "甲县公开招商政策" in listing, login_name
        expected = 200 if sees_own else 404
        assert client.get(f"/policies/{own}").status_code == expected, login_name
        assert client.get(f"/policies/{own}/file").status_code == expected, login_name
        assert client.get(f"/policies/{public}").status_code == 200, login_name
        found = client.get("/search", query_string={"q": "奖励标准"}).get_data(as_text=True)
        assert (f"/policies/{own}" in found) is sees_own, login_name


def test_only_the_publishing_tenant_edits_and_a_stale_form_is_refused(app, http_world):
    with app.app_context():
        policy_id = post_policy(http_world, "county-a.officer", title="甲县光伏扶持办法")
        db.session.remove()
    city = signed_in_client(app, "city.officer")
    assert city.get(f"/policies/{policy_id}/edit").status_code == 403
    assert (
        "编辑"
        not in city.get(f"/policies/{policy_id}")
        .get_data(as_text=True)
        .split("文件信息")[0]
        .split("</h1>")[1]
    )
    first = signed_in_client(app, "county-a.officer")
    second = signed_in_client(app, "county-a.head")
    token_first = page_token(first, f"/policies/{policy_id}/edit")
    token_second = page_token(second, f"/policies/{policy_id}/edit")
    saved = first.post(
        f"/policies/{policy_id}/edit",
        data=dict(
            policy_form(title="甲县光伏扶持办法（修订）"), version="1", csrf_token=token_first
        ),
    )
    assert saved.status_code == 302
    stale = second.post(
        f"/policies/{policy_id}/edit",
        data=dict(
            policy_form(title="甲县光伏扶持办法（另一版）"), version="1", csrf_token=token_second
        ),
    )
    assert stale.status_code == 409
    assert "该文件已被其他人修改" in stale.get_data(as_text=True)
    page = first.get(f"/policies/{policy_id}").get_data(as_text=True)
    assert "甲县光伏扶持办法（修订）" in page and "另一版" not in page
    found = first.get("/search", query_string={"q": "修订"}).get_data(as_text=True)
    assert f"/policies/{policy_id}" in found


def test_replacing_and_removing_the_attachment_keeps_one_file_and_the_index_follows(
    app, http_world
):
    client = signed_in_client(app, "county-a.officer")
    response = _post_new(
        client, policy_form(body="摘要"), ("旧版.txt", "旧版条款 风电补贴".encode())
    )
    policy_id = _policy_id(response)
    (old_file,) = _stored_files(app)

    def edit(version, **extra):
        data = dict(policy_form(body="摘要"), version=str(version), **extra)
        data["csrf_token"] = page_token(client, f"/policies/{policy_id}/edit")
        return client.post(
            f"/policies/{policy_id}/edit", data=data, content_type="multipart/form-data"
        )

    assert (
        edit(1, attachment=(io.BytesIO("新版条款 储能补贴".encode()), "新版.txt")).status_code
        == 302
    )
    (new_file,) = _stored_files(app)
    assert new_file != old_file and not old_file.exists()
    assert client.get(f"/policies/{policy_id}/file").data == "新版条款 储能补贴".encode()
    assert f"/policies/{policy_id}" in client.get("/search?q=储能补贴").get_data(as_text=True)
    assert f"/policies/{policy_id}" not in client.get("/search?q=风电补贴").get_data(as_text=True)
    assert edit(2, remove_attachment="1").status_code == 302
    assert _stored_files(app) == []
    assert client.get(f"/policies/{policy_id}/file").status_code == 404
    assert f"/policies/{policy_id}" not in client.get("/search?q=储能补贴").get_data(as_text=True)


def test_the_same_document_number_twice_is_refused(app, http_world):
    with app.app_context():
        post_policy(http_world, "city.officer", doc_number="江府办发〔2024〕37号")
        db.session.remove()
    client = signed_in_client(app, "city.head")
    response = _post_new(client, policy_form(doc_number="江府办发〔2024〕37号"))
    assert response.status_code == 422
    assert "文号“江府办发〔2024〕37号”已登记" in response.get_data(as_text=True)
    assert _count(app) == 1


def test_list_filters_are_in_the_url_and_a_bad_value_is_a_message(app, http_world):
    with app.app_context():
        old = post_policy(
            http_world,
            "city.officer",
            title="旧的人才政策",
            category="人才政策",
            issued_on="2019-05-01",
            effective_on="2019-06-01",
            expires_on="2021-05-01",
            validity="expired",
        )
        new = post_policy(http_world, "city.officer", title="新的土地政策", category="土地要素")
        db.session.remove()
    client = signed_in_client(app, "county-a.officer")
    body = client.get("/policies?validity=expired", headers=FRAGMENT).get_data(as_text=True)
    assert "旧的人才政策" in body and "新的土地政策" not in body and "<html" not in body
    body = client.get("/policies?year=2024&category=土地要素").get_data(as_text=True)
    assert "新的土地政策" in body and "旧的人才政策" not in body and "<html" in body
    body = client.get("/policies?q=人才").get_data(as_text=True)
    assert "旧的人才政策" in body and "共 1 份文件（已筛选）" in body
    body = client.get("/policies?validity=forever&year=abc&tenant=x").get_data(as_text=True)
    assert "时效性取值无效" in body and "年份须在" in body and "登记单位取值无效" in body
    assert "共 2 份文件" in body
    county = http_world.tenants["county_a"]
    assert "共 0 份文件（已筛选）" in client.get(f"/policies?tenant={county}").get_data(
        as_text=True
    )
    city = http_world.tenants["city"]
    assert "共 2 份文件（已筛选）" in client.get(f"/policies?tenant={city}").get_data(as_text=True)
    searched = client.get("/search?q=政策&validity=expired").get_data(as_text=True)
    assert f"/policies/{old}" in searched and f"/policies/{new}" not in searched


def test_admins_read_the_library_but_do_not_register(app, http_world):
    with app.app_context():
        post_policy(http_world, "city.officer", title="全市营商环境优化措施", category="营商环境")
        db.session.remove()
    admin = signed_in_client(app, "county-a.admin")
    assert "全市营商环境优化措施" in admin.get("/policies").get_data(as_text=True)
    assert admin.get("/policies/new").status_code == 403
    assert "登记政策文件" not in admin.get("/policies").get_data(as_text=True)


HOSTILE_VALUES = [
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "2024-13-45",
    "9" * 400,
    "𠀀" * 300,
    "../../etc/passwd",
    "",
]


@pytest.mark.parametrize("field", [*POLICY_FORM_FIELDS, "version", "remove_attachment"])
def test_hostile_form_values_never_cause_a_server_error(app, http_world, field):
    with app.app_context():
        policy_id = post_policy(http_world, "county-a.officer", title="甲县政策")
        db.session.remove()
    client = signed_in_client(app, "county-a.officer")
    for value in HOSTILE_VALUES:
        for url in ("/policies/new", f"/policies/{policy_id}/edit"):
            data = dict(policy_form(), version="1", csrf_token=page_token(client, url))
            data[field] = value
            response = client.post(url, data=data, content_type="multipart/form-data")
            assert response.status_code in (302, 409, 422), (field, value, url)
            assert "<script>alert(1)</script>" not in response.get_data(as_text=True)


def test_a_gb18030_text_file_is_read_and_served_in_its_own_encoding(app, http_world):
    client = signed_in_client(app, "county-a.officer")
    content = "第一条　对引进的纺织服装项目给予用地支持。\r\n".encode("gb18030")
    response = _post_new(client, policy_form(body=""), ("纺织服装用地政策.txt", content))
    policy_id = _policy_id(response)
    page = client.get(f"/policies/{policy_id}").get_data(as_text=True)
    assert "对引进的纺织服装项目给予用地支持" in page
    download = client.get(f"/policies/{policy_id}/file")
    assert download.data == content
    assert download.headers["Content-Type"].replace(" ", "").lower() == "text/plain;charset=gb18030"
