"""The review site in a real headless browser (Debian's chromium driven by Playwright), opened from disk.

Without chromium these tests skip, except in CI, where a missing browser is a failure (``browser_support``).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser_support import chromium
from review_support import read_js_data, recorded_root  # noqa: F401  (recorded_root is a fixture)

from embodia.envs.record.review_file import load_review_file
from embodia.review.collect import Skipped
from embodia.review.server import make_server
from embodia.review.site import build_site, write_site

TIMEOUT_MS = 15_000


@pytest.fixture(scope="module")
def browser() -> Iterator:
    with chromium() as launched:
        yield launched


@pytest.fixture()
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    context.set_default_timeout(TIMEOUT_MS)
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    yield opened
    context.close()
    assert errors == [], f"JavaScript errors: {errors}"


@pytest.fixture(scope="module")
def site(recorded_root: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict]]:  # noqa: F811
    out = tmp_path_factory.mktemp("site") / "review"
    build_site(recorded_root, out)
    return out, read_js_data(out / "data" / "index.js")["episodes"]


def open_page(page, path: Path):
    page.goto(path.resolve().as_uri())
    page.wait_for_selector("body[data-ready=true]")
    return page


def card_ids(page) -> list[str]:
    return page.eval_on_selector_all(".card", "cards => cards.map(c => c.dataset.id)")


def test_gallery_filters_and_sorts(page, site) -> None:
    out, rows = site
    open_page(page, out / "index.html")
    assert len(card_ids(page)) == 5 and page.text_content("#count") == "5 of 5 episodes"
    assert page.locator("video").count() == 0

    page.select_option("#filter-policy", "random")
    assert len(card_ids(page)) == 2
    page.select_option("#filter-task", "embodia/Handover-v0")
    assert len(card_ids(page)) == 0 and page.text_content("#count") == "0 of 5 episodes"
    page.click("#filter-reset")
    page.select_option("#filter-task", "embodia/Handover-v0")
    assert len(card_ids(page)) == 1
    page.click("#filter-reset")
    page.select_option("#filter-outcome", "success")
    assert set(card_ids(page)) == {r["id"] for r in rows if r["success"]} and len(card_ids(page)) == 2
    page.click("#filter-reset")
    page.fill("#filter-text", "binpicking/random/episode_0001")
    assert card_ids(page) == [r["id"] for r in rows if r["path"] == "binpicking/random/episode_0001.npz"]
    page.click("#filter-reset")
    threshold = sorted(r["return"] for r in rows)[2]
    page.fill("#filter-return-min", str(threshold))
    assert set(card_ids(page)) == {r["id"] for r in rows if r["return"] >= threshold} and len(card_ids(page)) == 3
    page.click("#filter-reset")

    page.select_option("#sort-key", "return")
    page.select_option("#sort-order", "desc")
    by_id = {r["id"]: r for r in rows}
    returns = [by_id[i]["return"] for i in card_ids(page)]
    assert returns == sorted(returns, reverse=True) and len(returns) == 5
    # the filter state survives a reload (it lives in the URL hash)
    page.reload()
    page.wait_for_selector("body[data-ready=true]")
    assert [by_id[i]["return"] for i in card_ids(page)] == returns


def test_episode_page_cursor_follows_the_video_and_plot_clicks_seek(page, site) -> None:
    out, rows = site
    open_page(page, out / "index.html")
    row = next(r for r in rows if r["policy"] == "expert" and r["success"])
    page.click(f'.card[data-id="{row["id"]}"] a.title')
    page.wait_for_url(f"**/episode.html?id={row['id']}")
    page.wait_for_selector("body[data-ready=true]")
    page.wait_for_function("document.querySelector('video').readyState >= 2")
    frames = row["length"] + 1
    plots = page.locator("canvas[data-plot]")
    assert plots.count() >= 4  # reward, reward terms, gripper width, distances
    assert page.get_attribute("canvas[data-plot=reward]", "data-cursor") == "0"

    page.click("button.play")
    page.wait_for_function("Number(document.querySelector('.readout').dataset.frame) >= 10")
    page.click("button.play")  # pause
    # `paused` turns true at once; the player follows on the queued pause event, so wait for it to settle
    page.wait_for_function(
        "document.querySelector('video').paused"
        " && embodiaPlayer.frame === embodiaPlayer.frameOfTime(document.querySelector('video').currentTime)"
    )
    state = page.evaluate(
        "({time: document.querySelector('video').currentTime, frame: embodiaPlayer.frame,"
        " cursors: [...document.querySelectorAll('canvas[data-plot]')].map(c => Number(c.dataset.cursor))})"
    )
    assert state["frame"] >= 10 and set(state["cursors"]) == {state["frame"]}
    assert state["frame"] == min(frames - 1, int(state["time"] * row["control_hz"] + 1e-3))

    # a click at three quarters of the reward plot's width seeks the video to that frame
    box = page.locator("canvas[data-plot=reward]").bounding_box()
    left, right = 48, 8  # the plot's margins (plots.js)
    x = box["x"] + left + 0.75 * (box["width"] - left - right)
    page.mouse.click(x, box["y"] + box["height"] / 2)
    expected = round(0.75 * (frames - 1))
    page.wait_for_function(
        f"embodiaPlayer.frame === {expected} && !document.querySelector('video').seeking"
        f" && Math.abs(document.querySelector('video').currentTime - {(expected + 0.5) / row['control_hz']}) < 1e-3"
    )
    assert page.get_attribute("canvas[data-plot=distances]", "data-cursor") == str(expected)
    page.keyboard.press("ArrowRight")
    assert page.evaluate("embodiaPlayer.frame") == expected + 1


def test_compare_two_episodes_in_sync(page, site) -> None:
    out, rows = site
    open_page(page, out / "index.html")
    expert = next(r for r in rows if r["env_id"] == "embodia/BinPicking-v0" and r["policy"] == "expert")
    random_row = next(r for r in rows if r["env_id"] == "embodia/BinPicking-v0" and r["policy"] == "random")
    assert page.is_disabled("#compare-selected")
    for row in (expert, random_row):
        page.check(f'.card[data-id="{row["id"]}"] input.pick')
    page.click("#compare-selected")
    page.wait_for_url("**/compare.html?*")
    page.wait_for_selector("body[data-ready=true]")
    assert page.get_attribute("#side-a", "data-id") == expert["id"]
    assert page.get_attribute("#side-b", "data-id") == random_row["id"]
    aggregate = page.locator('#aggregate tr[data-task="embodia/BinPicking-v0"][data-policy="expert"] td')
    assert aggregate.nth(2).text_content() == "2" and aggregate.nth(3).text_content() == "100.0% (2/2)"
    random_cells = page.locator('#aggregate tr[data-task="embodia/BinPicking-v0"][data-policy="random"] td')
    assert random_cells.nth(3).text_content() == "0.0% (0/2)"
    page.wait_for_function("[...document.querySelectorAll('video')].every(v => v.readyState >= 2)")

    page.click("#sync-play")
    page.wait_for_function("Number(document.querySelector('#sync-readout').dataset.frame) >= 12")
    page.click("#sync-play")  # pause both
    page.wait_for_function("[...document.querySelectorAll('video')].every(v => v.paused)")
    frames = page.evaluate("[embodiaCompare.a.frame, embodiaCompare.b.frame]")
    assert frames[0] >= 12 and abs(frames[0] - frames[1]) <= 2, frames

    # the shared slider (and a click on either side's plot) seeks both sides to the same frame
    page.evaluate("embodiaCompare.seekAll(7)")
    page.wait_for_function("[...document.querySelectorAll('video')].every(v => !v.seeking)")
    assert page.evaluate("[embodiaCompare.a.frame, embodiaCompare.b.frame]") == [7, 7]
    cursors = page.eval_on_selector_all("canvas[data-plot=reward]", "cs => cs.map(c => c.dataset.cursor)")
    assert cursors == ["7", "7"]
    # the shorter episode holds its last frame when the slider goes past its end
    page.evaluate("embodiaCompare.seekAll(60)")
    assert page.evaluate("[embodiaCompare.a.frame, embodiaCompare.b.frame]") == [60, 30]


def test_marks_persist_and_export_the_review_file(page, site, tmp_path: Path) -> None:
    out, rows = site
    open_page(page, out / "index.html")
    accepted, rejected, unmarked = rows[0], rows[3], rows[4]
    page.click(f'.card[data-id="{accepted["id"]}"] button.accept')
    page.click(f'.card[data-id="{rejected["id"]}"] button.accept')
    page.click(f'.card[data-id="{rejected["id"]}"] button.reject')  # changes its mind
    page.click(f'.card[data-id="{unmarked["id"]}"] button.reject')
    page.click(f'.card[data-id="{unmarked["id"]}"] button.reject')  # a second click clears the verdict
    page.reload()
    page.wait_for_selector("body[data-ready=true]")
    assert page.text_content("#verdict-count") == "1 accepted, 1 rejected"
    assert page.get_attribute(f'.card[data-id="{accepted["id"]}"]', "class") == "card accepted"
    page.select_option("#filter-verdict", "rejected")
    assert card_ids(page) == [rejected["id"]]

    with page.expect_download() as download_info:
        page.click("#export-review")
    saved = tmp_path / "review.json"
    download_info.value.save_as(saved)
    document = json.loads(saved.read_text())
    assert document["format"] == "embodia.review" and document["schema_version"] == 1
    assert document["root"] == read_js_data(out / "data" / "index.js")["root"]
    assert document["created_utc"].endswith("Z")
    assert document["episodes"] == [
        {key: row[key] for key in ("path", "env_id", "policy", "seed")} | {"verdict": verdict}
        for row, verdict in ((accepted, "accepted"), (rejected, "rejected"))
    ]
    assert load_review_file(saved) == {accepted["path"]: "accepted", rejected["path"]: "rejected"}

    # the episode page shares the marks
    page.goto((out / "episode.html").resolve().as_uri() + f"?id={accepted['id']}")
    page.wait_for_selector("body[data-ready=true]")
    assert page.get_attribute(".mark", "data-verdict") == "accepted"
    page.keyboard.press("r")
    assert page.get_attribute(".mark", "data-verdict") == "rejected"


def test_served_site_seeks_the_video_through_byte_ranges(page, site, recorded_root: Path) -> None:  # noqa: F811
    out, rows = site
    server, url = make_server(out, recorded_root, port=0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        row = next(r for r in rows if r["policy"] == "expert" and r["success"])
        page.goto(url.replace("index.html", f"episode.html?id={row['id']}"))
        page.wait_for_selector("body[data-ready=true]")
        # functions, not expressions: Playwright polls an expression with eval(), which the server's CSP refuses
        page.wait_for_function("() => document.querySelector('video').readyState >= 2")
        frame = row["length"] - 5
        page.evaluate(f"embodiaPlayer.seek({frame})")
        page.wait_for_function("() => !document.querySelector('video').seeking")
        time_s = page.evaluate("document.querySelector('video').currentTime")
        assert time_s == pytest.approx((frame + 0.5) / row["control_hz"], abs=1e-3)
        assert page.get_attribute("canvas[data-plot=reward]", "data-cursor") == str(frame)
    finally:
        server.shutdown()
        server.server_close()


def test_a_thousand_episodes_render_one_lazy_page(page, site, tmp_path: Path) -> None:
    out, rows = site
    template = next(r for r in rows if r["thumb"])
    big = tmp_path / "big" / "review"
    (big / "thumbs").mkdir(parents=True)
    thumb = (out / template["thumb"]).read_bytes()
    synthetic = []
    for k in range(1000):
        path = f"run_{k // 100:02d}/episode_{k % 100:04d}.npz"
        row = {**template, "id": f"synthetic{k:04d}", "path": path, "seed": k, "return": float((k * 37) % 1000)}
        row["thumb"] = f"thumbs/{row['id']}.jpg"
        row["video"] = None
        (big / row["thumb"]).write_bytes(thumb)
        synthetic.append(row)
    write_site(big, tmp_path / "big", synthetic, plots={}, skipped=[Skipped("run_00/episode_0100.npz", "truncated")])

    open_page(page, big / "index.html")
    assert page.text_content("#count") == "1000 of 1000 episodes"
    # what keeps a large gallery fast is structural (a page of cards in the DOM, lazy images, no video elements),
    # so that is what is checked: a timed assertion would fail on a loaded machine, not on a slow page
    assert page.locator(".card").count() == 48
    assert page.locator("video").count() == 0
    images = page.eval_on_selector_all(".card img", "imgs => imgs.map(i => i.loading)")
    assert 0 < len(images) <= 48 and set(images) == {"lazy"}
    # only the current page's images exist, so no more than a page of thumbnails can ever be fetched
    assert page.locator("img").count() == len(images)
    page.wait_for_function("document.querySelector('.card img').complete")
    assert page.evaluate("document.querySelector('.card img').naturalWidth") > 0
    assert "1 files skipped" in page.text_content("#skipped")

    page.fill("#filter-text", "seed 999")
    assert card_ids(page) == ["synthetic0999"]
    page.click("#filter-reset")
    page.select_option("#sort-key", "return")
    page.select_option("#sort-order", "desc")
    assert card_ids(page)[0] == max(synthetic, key=lambda r: (r["return"], -r["seed"]))["id"]
    page.click("#page-next")
    assert page.text_content("#page") == "page 2 / 21" and len(card_ids(page)) == 48
