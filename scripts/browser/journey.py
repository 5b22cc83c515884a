"""The web application's whole journey in headless Chromium, as the bureau's people and a bank
would go through it. Run by scripts/browser.sh against a real server and a fresh database.

Each step asserts what a person would check on the page; the exported .xlsx is opened with
openpyxl; the voucher's 人民币大写 is checked against an independent converter written here."""

import http.cookiejar
import io
import json
import os
import sys
import tempfile
import time
import traceback
import urllib.error
import urllib.request
from datetime import date, timedelta
from decimal import Decimal

import openpyxl
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

BASE = os.environ["BASE_URL"]
SHOTS = os.environ.get("SCREENSHOTS", "/tmp")
WORK = tempfile.mkdtemp(prefix="journey-")

FIRM_A = ("91350200776049653A", "成都甲精密制造有限公司", "高新区", "6222020000000000019")
FIRM_B = ("913502000728319549", "成都乙智能科技有限公司", "锦江区", "6226090000000002")
FIRM_C = ("91440101MA5CJQ4N59", "成都丙创业投资有限公司", "武侯区", "6214830000000003")
PASSWORDS = {"admin": "browser-admin-pass", "clerk": "clerk-pass-2026", "approver": "approver-pass-2026",
             "auditor": "auditor-pass-2026", "zhang": "zhang-pass-2026"}
DISBURSEMENT = "6222020000009999"

options = Options()
for argument in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1366,1000", "--lang=zh-CN"]:
    options.add_argument(argument)
driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
driver.implicitly_wait(2)
shot_number = 0
step_name = ""


def step(name):
    global step_name
    step_name = name
    print(f"  · {name}", flush=True)


def shot(name):
    global shot_number
    shot_number += 1
    driver.save_screenshot(os.path.join(SHOTS, f"{shot_number:02d}-{name}.png"))


def go(path):
    driver.get(BASE + path)


def text(selector_id):
    return driver.find_element(By.ID, selector_id).text


def exists(selector_id):
    return len(driver.find_elements(By.ID, selector_id)) > 0


def page():
    return driver.find_element(By.TAG_NAME, "body").text


def fill(field_id, value):
    element = driver.find_element(By.ID, field_id)
    element.clear()
    element.send_keys(value)


def set_date(field_id, value):
    """A date field takes its value as the page's own script would set it (typing depends on the locale)."""
    driver.execute_script("document.getElementById(arguments[0]).value = arguments[1]", field_id, value)


def click(field_id):
    """Clicks something that stays on the page (a checkbox)."""
    driver.find_element(By.ID, field_id).click()


def press(element):
    """Clicks a button that loads a page, and waits until the new page is there."""
    old = driver.find_element(By.TAG_NAME, "html")
    element.click()
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            old.is_enabled()  # raises once the old page is gone
        except Exception:
            return
        time.sleep(0.1)
    raise AssertionError("the page did not change after a click")


def submit(field_id):
    press(driver.find_element(By.ID, field_id))


def sign_in(login):
    driver.delete_all_cookies()
    go("/login")
    fill("login", login)
    fill("password", PASSWORDS[login])
    submit("sign-in")
    assert exists("who"), f"{login} is not signed in: {page()[:300]}"


def sign_out():
    submit("sign-out")
    assert "/login" in driver.current_url


def session_opener():
    """An HTTP client carrying the browser's session cookie (downloads, forged requests)."""
    jar = http.cookiejar.CookieJar()
    for cookie in driver.get_cookies():
        jar.set_cookie(http.cookiejar.Cookie(
            0, cookie["name"], cookie["value"], None, False, "127.0.0.1", False, False, cookie.get("path", "/"), True,
            False, None, False, None, None, {}))
    return urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))


def fetch(opener, path, data=None):
    request = urllib.request.Request(BASE + path, data=data)
    if data is not None:
        request.add_header("Content-Type", "application/x-www-form-urlencoded")
    try:
        with opener.open(request) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def api(method, path, token, body, content_type="application/json"):
    request = urllib.request.Request(BASE + path, data=body, method=method)
    request.add_header("Authorization", f"Bearer {token}")
    request.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def csrf():
    return driver.find_element(By.NAME, "_csrf").get_attribute("value")


DIGITS = "零壹贰叁肆伍陆柒捌玖"


def capital(amount):
    """人民币大写, written independently of the server's converter: digit by digit from the
    highest place, 零 for a run of zeros before a non-zero digit, 万 and 亿 after their groups."""
    fen = int((Decimal(amount) * 100).to_integral_value())
    yuan, jiao, cent = fen // 100, fen // 10 % 10, fen % 10
    units = ["", "拾", "佰", "仟"]
    words = ""
    digits = str(yuan)
    zero = False
    for position, char in enumerate(digits):
        place = len(digits) - 1 - position
        digit = int(char)
        if digit == 0:
            zero = True
        else:
            if zero and words:
                words += "零"
            zero = False
            words += DIGITS[digit] + units[place % 4]
        if place % 4 == 0 and place > 0:
            group = digits[max(0, position - 3):position + 1]
            if int(group) != 0:
                words += "亿" if place % 8 == 0 else "万"
    result = words + "元" if yuan > 0 else ""
    if jiao == 0 and cent == 0:
        return (result or "零元") + "整"
    if cent == 0:
        return result + DIGITS[jiao] + "角整"
    if jiao == 0:
        return result + ("零" if yuan > 0 else "") + DIGITS[cent] + "分"
    return result + DIGITS[jiao] + "角" + DIGITS[cent] + "分"


assert capital("15069.45") == "壹万伍仟零陆拾玖元肆角伍分"
assert capital("100.00") == "壹佰元整"
assert capital("1000000.07") == "壹佰万元零柒分"


def wait_for(condition, what, seconds=60):
    deadline = time.time() + seconds
    while time.time() < deadline:
        driver.refresh()
        if condition():
            return
        time.sleep(1)
    raise AssertionError(f"timed out waiting for {what}: {page()[:500]}")


def batch_state():
    return driver.find_element(By.ID, "batch-state").get_attribute("data-state")


def journey():
    step("sign-in refuses a wrong password and names nothing else")
    go("/batches")
    assert "/login" in driver.current_url
    fill("login", "admin")
    fill("password", "not-the-password")
    submit("sign-in")
    assert "用户名或密码错误" in text("error")
    shot("login")

    step("admin creates users, a bank token, the disbursement account and the budget")
    sign_in("admin")
    go("/admin")
    for login, name, roles in [("clerk", "王会计", ["clerk"]), ("approver", "李处长", ["approver"]), ("auditor", "审计员", ["auditor"]),
                               ("zhang", "张科长", ["clerk", "approver"])]:
        fill("new-login", login)
        fill("new-name", name)
        fill("new-password", PASSWORDS[login])
        for role in roles:
            click(f"role-{role}")
        submit("add-user-button")
        assert text("notice") == "已保存", page()[:400]
    assert all(login in text("users") for login in ["clerk", "approver", "auditor", "zhang"])
    # A password that is too short is refused, what was typed stays.
    fill("new-login", "short")
    fill("new-name", "短密码")
    fill("new-password", "abc")
    click("role-clerk")
    submit("add-user-button")
    assert "10" in text("error") and driver.find_element(By.ID, "new-login").get_attribute("value") == "short"
    token_form = driver.find_element(By.ID, "create-token").find_element(By.XPATH, "./..")
    token_form.find_element(By.NAME, "label").send_keys("ICBC integration (browser suite)")
    submit("create-token")
    token = text("new-token").strip()
    assert len(token) > 20
    account_form = driver.find_element(By.NAME, "account").find_element(By.XPATH, "./../..")
    account_form.find_element(By.NAME, "account").send_keys(DISBURSEMENT)
    account_form.find_element(By.NAME, "name").send_keys("成都市财政局专精特新资金专户")
    press(account_form.find_element(By.TAG_NAME, "button"))
    assert DISBURSEMENT in text("accounts")
    budget_form = driver.find_element(By.NAME, "amount").find_element(By.XPATH, "./../..")
    budget_form.find_element(By.NAME, "year").send_keys("2025")
    budget_form.find_element(By.NAME, "amount").send_keys("1,000,000.00")
    budget_form.find_element(By.NAME, "source").send_keys("成财企〔2025〕1号")
    press(budget_form.find_element(By.TAG_NAME, "button"))
    assert "1,000,000.00" in text("budgets")
    shot("admin")
    sign_out()

    step("clerk: a 认定名单 with a bad check digit is refused with its row named")
    sign_in("clerk")
    go("/admin")
    assert "无权访问" in page() and "管理员" in text("error"), "a clerk's session opened an admin page"
    go("/firms/import")
    bad = os.path.join(WORK, "认定名单-有误.csv")
    with open(bad, "wb") as file:
        rows = ["序号,企业名称,地区,统一社会信用代码",
                f"1,{FIRM_A[1]},{FIRM_A[2]},91350200776049653B",
                f"2,{FIRM_B[1]},{FIRM_B[2]},{FIRM_B[0]}"]
        file.write(("\r\n".join(rows) + "\r\n").encode("gb18030"))
    driver.find_element(By.ID, "level").send_keys("专精特新中小企业")
    set_date("recognised", "2024-03-01")
    fill("source", "川经信企业〔2024〕12号")
    driver.find_element(By.ID, "file").send_keys(bad)
    submit("check-import")
    problems = text("problems")
    assert "2" in problems and "91350200776049653B" in problems and "should be A" in problems, problems
    assert driver.find_element(By.ID, "source").get_attribute("value") == "川经信企业〔2024〕12号"
    shot("import-refused")

    step("clerk: the corrected list as .xlsx — one row by name only, one unmatched resolved by USCC")
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["序号", "企业名称", "地区", "统一社会信用代码"])
    sheet.append([1, FIRM_A[1], FIRM_A[2], None])
    sheet.append([2, FIRM_B[1], FIRM_B[2], FIRM_B[0]])
    sheet.append([3, "成都丙创投", FIRM_C[2], None])
    good = os.path.join(WORK, "认定名单.xlsx")
    workbook.save(good)
    driver.find_element(By.ID, "level").send_keys("专精特新中小企业")
    set_date("recognised", "2024-03-01")
    driver.find_element(By.ID, "file").send_keys(good)
    submit("check-import")
    assert exists("to-resolve"), page()[:500]
    assert FIRM_A[0] in text("ready") and FIRM_B[0] in text("ready")
    shot("import-review")
    submit("confirm-import")
    assert "第 4" in text("error") or "4:" in text("error") or "4" in text("error")
    fill("resolve-4", FIRM_C[0])
    submit("confirm-import")
    assert text("added") == "3", page()[:400]
    go(f"/firms/{FIRM_A[0]}")
    assert "2027-02-29" not in text("qualifications") and "2027-02-28" in text("qualifications")
    sign_out()

    step("a bank registers loans and uploads interest records through the API")
    status, body = api("POST", "/v1/loans", token, json.dumps({"loans": [
        {"loanNo": "ZD-A", "firm": FIRM_A[0], "program": "zhuangda", "principal": "5000000.00", "start": "2025-01-10",
         "maturity": "2026-01-09", "contractRate": "3.80"},
        {"loanNo": "ZD-B", "firm": FIRM_B[0], "program": "zhuangda", "principal": "2000000.00", "start": "2025-02-01",
         "maturity": "2026-01-31", "contractRate": "3.60"}]}).encode())
    assert status == 200 and body["created"] == 2, body
    records = ("loan_no,period_from,period_to,balance,paid,paid_on\r\n"
               "ZD-A,2025-01-10,2025-03-21,5000000.00,36944.44,2025-03-21\r\n"
               "ZD-A,2025-03-21,2025-06-21,5000000.00,48555.55,2025-06-21\r\n"
               "ZD-B,2025-02-01,2025-05-01,2000000.00,17800.00,2025-05-01\r\n")
    status, body = api("POST", "/v1/interest-records", token, records.encode(), "text/csv")
    assert status == 200 and body["accepted"] == 3, body

    step("clerk computes a 壮大贷 2025 batch (progress while it runs), reads an explanation, submits")
    sign_in("clerk")
    go("/batches")
    driver.find_element(By.ID, "program").send_keys("壮大贷贴息")
    fill("year", "2025")
    submit("create-batch")
    batch = driver.current_url.rstrip("/").split("/")[-1]
    submit("compute")
    wait_for(lambda: batch_state() == "computed" and not exists("job-progress"), "the computation")
    assert not exists("job-error"), text("job-error")
    lines = text("lines")
    assert FIRM_A[1] in lines and FIRM_B[1] in lines, lines
    shot("batch-computed")
    # 试算 of the computed batch: the same total shown, nothing stored, the batch as it was.
    computed_total = text("batch-total")
    submit("trial")
    wait_for(lambda: exists("trial-result"), "the trial")
    assert f"合计 {computed_total}，" in text("trial-result"), text("trial-result")
    assert batch_state() == "computed" and text("batch-total") == computed_total
    press(driver.find_elements(By.CLASS_NAME, "line-link")[0])
    explanation = text("explanation")
    assert explanation.count("\n") >= 3 and "LPR" in explanation.upper(), explanation
    shot("explanation")
    go(f"/batches/{batch}")
    submit("submit")
    assert batch_state() == "publicity"
    until = text("publicity-until")
    total = text("batch-total")
    sign_out()

    step("approver: approval during 公示 is refused; after it (a rehearsal date) it passes")
    sign_in("approver")
    go(f"/batches/{batch}")
    assert exists("publicity-running")
    submit("approve")
    assert "公示期" in text("error") and batch_state() == "publicity", page()[:400]
    shot("approve-refused")
    sign_out()
    sign_in("admin")
    go("/admin")
    after = (date.fromisoformat(until) + timedelta(days=1)).isoformat()
    set_date("rehearsal-day", after)
    submit("set-day")
    assert after in text("notice")
    sign_out()
    sign_in("approver")
    go(f"/batches/{batch}")
    submit("approve")
    assert batch_state() == "approved", page()[:500]
    assert text("batch-total") == total
    shot("approved")
    sign_out()

    step("four eyes: a clerk-approver's own computation has no approve button, and a forged POST is refused")
    sign_in("zhang")
    go("/batches")
    driver.find_element(By.ID, "program").send_keys("壮大贷贴息")
    fill("year", "2025")
    fill("district", FIRM_B[2])
    submit("create-batch")
    own = driver.current_url.rstrip("/").split("/")[-1]
    submit("compute")
    wait_for(lambda: batch_state() == "computed" and not exists("job-progress"), "the second computation")
    submit("submit")
    assert batch_state() == "publicity"
    assert not exists("approve") and exists("own-computation")
    opener = session_opener()
    token_value = csrf()
    status, html = fetch(opener, f"/batches/{own}/approve", f"_csrf={token_value}".encode())
    assert status == 422 and "四眼原则" in html.decode(), (status, html[:300])
    step("a form posted without its CSRF token is refused and changes nothing")
    status, html = fetch(opener, f"/batches/{own}/cancel", "reason=forged".encode())
    assert status == 403, status
    go(f"/batches/{own}")
    assert batch_state() == "publicity"
    sign_out()

    step("clerk exports; the .xlsx keeps account numbers as text and amounts as numbers")
    sign_in("clerk")
    go(f"/batches/{batch}")
    submit("export")
    assert batch_state() == "exported"
    status, content = fetch(session_opener(), f"/batches/{batch}/payment.xlsx")
    assert status == 200 and content[:2] == b"PK"
    with open(os.path.join(SHOTS, "payment.xlsx"), "wb") as file:
        file.write(content)
    sheet = openpyxl.load_workbook(io.BytesIO(content)).active
    rows = list(sheet.iter_rows(values_only=False))
    header = [cell.value for cell in rows[0]]
    assert header[2] == "收款账号 Account" and header[4] == "金额 Amount (CNY)", header
    payments = {}
    for row in rows[1:-1]:
        account, amount, reference, uscc = row[2], row[4], row[5], row[6]
        assert account.data_type == "s" and uscc.data_type == "s", (account.value, uscc.value)
        assert isinstance(amount.value, (int, float)) and amount.number_format == "#,##0.00", (amount.value, amount.number_format)
        payments[uscc.value] = (account.value, Decimal(str(amount.value)).quantize(Decimal("0.01")), reference.value, row[1].value)
    assert payments[FIRM_A[0]][0] == FIRM_A[3], payments  # 19 digits, intact
    assert payments[FIRM_B[0]][0] == FIRM_B[3]
    total_cell = rows[-1][4].value
    assert Decimal(str(total_cell)).quantize(Decimal("0.01")) == sum(p[1] for p in payments.values())
    assert Decimal(total.replace(",", "")) == sum(p[1] for p in payments.values())

    step("the voucher shows the amount in 人民币大写")
    go(f"/batches/{batch}/voucher")
    figures = [element.text for element in driver.find_elements(By.CLASS_NAME, "amount-figures")]
    words = [element.text for element in driver.find_elements(By.CLASS_NAME, "amount-words")]
    assert len(figures) == 2 and len(words) == 2
    for figure, word in zip(figures, words):
        assert word == capital(figure.replace(",", "")), (figure, word)
    assert capital(total.replace(",", "")) in text("voucher-summary")
    shot("voucher")

    step("clerk uploads a statement: one payment by reference, one only by name and amount")
    today = date.today().isoformat()
    opening = Decimal("1000000.00")
    a, b = payments[FIRM_A[0]], payments[FIRM_B[0]]
    statement = "\r\n".join([
        f"账号：{DISBURSEMENT},户名：成都市财政局专精特新资金专户",
        "交易日期,对方户名,对方账号,借方发生额,贷方发生额,余额,摘要,用途",
        f"{today},{a[3]},{a[0]},{a[1]},,{opening - a[1]},转账支出,{a[2]} 壮大贷贴息",
        f"{today},{b[3]},,{b[1]},,{opening - a[1] - b[1]},转账支出,专精特新补贴",
    ]) + "\r\n"
    path = os.path.join(WORK, "statement.csv")
    with open(path, "w", encoding="utf-8") as file:
        file.write(statement)
    go("/reconciliation")
    driver.find_element(By.ID, "statement-file").send_keys(path)
    submit("upload-statement")
    assert "/reconciliation/statements/" in driver.current_url, page()[:500]
    shot("statement-report")
    go("/reconciliation")
    assert b[2] in text("suggestions") or FIRM_B[1] in text("suggestions"), text("suggestions")
    shot("reconciliation")
    press(driver.find_elements(By.CLASS_NAME, "confirm-suggestion")[0])
    assert "/reconciliation" in driver.current_url and "确认" not in text("suggestions").split("\n", 1)[-1]

    step("the report shows the batch paid")
    go(f"/reconciliation/batches/{batch}")
    report = page()
    assert "已支付 paid" in report, report[:600]
    shot("batch-report")
    step("the whole report downloads as a sheet: amounts as numbers, each category's count and sum in its summary row")
    status, content = fetch(session_opener(), f"/reconciliation/batches/{batch}/download?format=xlsx")
    assert status == 200 and content[:2] == b"PK", (status, content[:300])
    with open(os.path.join(SHOTS, "report.xlsx"), "wb") as file:
        file.write(content)
    rows = list(openpyxl.load_workbook(io.BytesIO(content)).active.iter_rows(values_only=True))
    assert rows[0][0] == "类别 Category" and rows[0][2] == "金额 Amount", rows[0]
    cents = lambda value: Decimal(str(value)).quantize(Decimal("0.01"))
    summaries = {row[5]: (cents(row[2]), int(row[3].split(" ")[0])) for row in rows if str(row[0]).startswith("汇总 Summary")}
    assert len(summaries) == 8, summaries
    listed = [row for row in rows if row[0] in summaries]
    assert all(isinstance(row[2], (int, float)) for row in listed), listed
    for key, (total, count) in summaries.items():
        mine = [cents(row[2]) for row in listed if row[0] == key]
        assert len(mine) == count and sum(mine, Decimal("0")) == total, (key, total, count, mine)
    # Both payments, A's by reference and B's confirmed, and nothing outstanding.
    paid = sorted(abs(cents(row[2])) for row in listed if row[0] in ("matched", "suggested"))
    assert paid == sorted([a[1], b[1]]) and summaries["outstanding"][1] == 0, (paid, summaries)
    go(f"/batches/{batch}")
    assert batch_state() == "paid"
    go("/")
    shot("home")

    step("English per user, amounts right-aligned with separators")
    submit("switch-language")
    assert "Batches" in page() and "Home" in page()
    go(f"/batches/{batch}")
    assert "Paid" in text("lines")
    shot("batch-english")
    submit("switch-language")
    sign_out()

    step("auditor: the audit log names who did what, and the ledger verifies")
    sign_in("auditor")
    go("/audit?action=batch.approve")
    assert "approver" in text("audit")
    submit("verify-ledger")
    assert "账簿完整" in text("verification"), text("verification")
    shot("audit")
    sign_out()


try:
    journey()
    print("browser journey: passed")
    status = 0
except Exception:
    print(f"browser journey: FAILED at step: {step_name}", file=sys.stderr)
    traceback.print_exc()
    try:
        shot("failure")
        print(f"  page: {driver.current_url}\n{page()[:1500]}", file=sys.stderr)
    except Exception:
        pass
    status = 1
finally:
    driver.quit()
sys.exit(status)
