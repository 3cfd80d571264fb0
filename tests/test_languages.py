"""Tricky pairs in every language the README lists: each states the decision and why.

Each case is a paragraph kept first and a later paragraph; the later one must be removed
(a repeat with noise) or kept (a changed fact or word).  The sentences are written for
these tests, not taken from the development sets.
"""

import pytest

from dedup import clean_text
from dedup.fingerprint import Features
from dedup.match import compare

REMOVE, KEEP = "remove", "keep"

CASES = [
    # English: a slip makes a non-word; an edit makes another real word.
    (
        "en",
        "The harbour market opened early on Monday and traders reported brisk sales of fresh fish.",
        "The harbour makret opened early on Monday and traders reported brisk sales of fresh fish.",
        REMOVE,
        "makret is not a word: a slip",
    ),
    (
        "en",
        "The new film about the island ferry will be shown at the town hall next month.",
        "The new firm about the island ferry will be shown at the town hall next month.",
        KEEP,
        "firm is a word: film -> firm is an edit",
    ),
    (
        "en",
        "The council said the trial of the new parking scheme would run until the end of summer.",
        "The council said the trail of the new parking scheme would run until the end of summer.",
        KEEP,
        "trail is a word",
    ),
    (
        "en",
        "The committee made its decision after a long debate about the future of the pier.",
        "The committee rnade its decision after a long debate about the future of the pier.",
        REMOVE,
        "rn read as m: an OCR confusion into a non-word",
    ),
    (
        "en",
        "The organisers said the festival would return to the seafront gardens next year.",
        "The organizers said the festival would return to the seafront gardens next year.",
        REMOVE,
        "British and American spellings of one word",
    ),
    (
        "en",
        "The mayor said it was likely that the bridge would reopen before the winter storms.",
        "The mayor said it was unlikely that the bridge would reopen before the winter storms.",
        KEEP,
        "likely -> unlikely: both words",
    ),
    (
        "en",
        "The harbour master said the new moorings would include space for twenty visiting yachts.",
        "Teh harbour master said the new moorings would include space for twenty visiting yachts.",
        REMOVE,
        "a capitalised slip at a sentence start is not a name",
    ),
    # German
    (
        "de",
        "Der Stadtrat hat am Dienstag den neuen Haushalt für das kommende Jahr beschlossen.",
        "Der Stadtrat hat am Dienstag den neuen Haushalt nicht für das kommende Jahr beschlossen.",
        KEEP,
        "nicht: a negation added",
    ),
    (
        "de",
        "Die Preise für Fährtickets stiegen im Sommer deutlich, sagte der Betreiber der Linie.",
        "Die Preise für Fährtickets sanken im Sommer deutlich, sagte der Betreiber der Linie.",
        KEEP,
        "stiegen -> sanken: another word",
    ),
    (
        "de",
        "Die Fischer müssen ihre Boote vor dem Sturm in den sicheren Hafen bringen, sagte er.",
        "Die Fischer muessen ihre Boote vor dem Sturm in den sicheren Hafen bringen, sagte er.",
        REMOVE,
        "ü written ue",
    ),
    (
        "de",
        "Die Bibliothek bleibt künftig an allen Wochentagen bis neun Uhr abends geöffnet.",
        "Die Bibliothek bleibt künftig an allen Wochentagen bis neun Uhr abends geöffnet. Weiterlesen",
        REMOVE,
        "a read-more tail",
    ),
    # Spanish
    (
        "es",
        "El ayuntamiento está preparando un nuevo plan para el puerto de la ciudad este año.",
        "El ayuntamiento esta preparando un nuevo plan para el puerto de la ciudad este año.",
        REMOVE,
        "an accent dropped",
    ),
    (
        "es",
        "El nuevo puente es una prioridad para el gobierno regional según el alcalde de la ciudad.",
        "El nuevo puente no es una prioridad para el gobierno regional según el alcalde de la ciudad.",
        KEEP,
        "no: a negation added",
    ),
    # Russian
    (
        "ru",
        "Новый мост через реку будет открыт для движения уже в следующем году, сообщил мэр.",
        "Новый мост через реку не будет открыт для движения уже в следующем году, сообщил мэр.",
        KEEP,
        "не: a negation added",
    ),
    (
        "ru",
        "Ещё одна паромная линия появится летом, сообщили в администрации порта города.",
        "Еще одна паромная линия появится летом, сообщили в администрации порта города.",
        REMOVE,
        "ё written е",
    ),
    (
        "ru",
        "В этом году туристов на острове стало больше, чем в прошлом, сообщили власти.",
        "В этом году туристов на острове стало меньше, чем в прошлом, сообщили власти.",
        KEEP,
        "больше -> меньше: another word",
    ),
    # Turkish
    (
        "tr",
        "Belediye yeni limanın büyük bir bölümünün gelecek yıl açılacağını duyurdu.",
        "Belediye yeni limanın küçük bir bölümünün gelecek yıl açılacağını duyurdu.",
        KEEP,
        "büyük -> küçük: both words",
    ),
    (
        "tr",
        "Belediye başkanı köprünün kış aylarından önce yeniden açılacağını söyledi.",
        "Belediye baskani köprünün kis aylarindan önce yeniden açilacagini söyledi.",
        REMOVE,
        "Turkish letters written plain",
    ),
    # Arabic
    (
        "ar",
        "افتتح المجلس البلدي الجسر الجديد في عام 1998 بعد سنوات من العمل المتواصل.",
        "افتتح المجلس البلدي الجسر الجديد في عام ١٩٩٨ بعد سنوات من العمل المتواصل.",
        REMOVE,
        "Arabic-Indic digits are the same number",
    ),
    (
        "ar",
        "أعلنت إدارة الميناء أن الرحلات الجديدة ستبدأ قبل موسم الصيف المقبل في المدينة.",
        "أعلنت إدارة الميناء أن الرحلات الجديدة ستبدأ بعد موسم الصيف المقبل في المدينة.",
        KEEP,
        "قبل -> بعد: before and after",
    ),
    (
        "ar",
        "أعلنت إدارة الميناء أن الرحلات الجديدة ستبدأ قبل موسم الصيف المقبل في المدينة.",
        "اعلنت ادارة الميناء ان الرحلات الجديدة ستبدأ قبل موسم الصيف المقبل في المدينة.",
        REMOVE,
        "alef variants written as plain alef",
    ),
    # Hindi
    (
        "hi",
        "नगर परिषद ने कहा कि नया पुल अगले साल तक यातायात के लिए खुला है और सुरक्षित है।",
        "नगर परिषद ने कहा कि नया पुल अगले साल तक यातायात के लिए खुला नहीं है और सुरक्षित है।",
        KEEP,
        "नहीं: a negation added",
    ),
    (
        "hi",
        "बंदरगाह पर मछुआरों ने कहा कि इस साल मछली पकड़ने का मौसम अच्छा रहा और कीमतें बढ़ीं।",
        "बंदरगाह पर मछुआरों ने कहा कि इस साल मछली पकडने का मौसम अच्छा रहा और कीमतें बढीं।",
        REMOVE,
        "the nukta dropped",
    ),
    # Chinese
    (
        "zh",
        "市政府宣布新的跨海大桥将在明年夏天正式通车，预计每天可以减少大量交通拥堵。",
        "市政府宣布新的跨海大桥将在明年夏天正式通车，预计每天可以减少大量交通拥堵。",
        REMOVE,
        "an exact repeat: a Chinese sentence is not a short line",
    ),
    (
        "zh",
        "今年夏天到岛上旅游的游客人数明显增加，当地酒店的入住率也创下了新的纪录。",
        "今年夏天到岛上旅游的游客人数明显减少，当地酒店的入住率也创下了新的纪录。",
        KEEP,
        "增加 -> 减少: a changed word",
    ),
    (
        "zh",
        "这座大桥是一座连接两个城市的重要交通设施，每天都有成千上万的车辆通过。",
        "这座大桥不是一座连接两个城市的重要交通设施，每天都有成千上万的车辆通过。",
        KEEP,
        "不: a negation added",
    ),
    (
        "zh",
        "市政府宣布新的跨海大桥将在明年夏天正式通车，预计每天可以减少大量交通拥堵。",
        "市政府宣布新的跨海大桥将在明年夏天正式通车，预计每天可以减少大量交通拥堵。阅读全文",
        REMOVE,
        "a read-more tail",
    ),
    (
        "zh",
        "市政府宣布新的跨海大桥将在明年夏天正式通车，预计每天可以减少大量交通拥堵。",
        "市政府宣布新的跨海大桥将在明年夏天正式通车，预计每天可以减少大量交通拥堵。桥梁全长约十二公里，共有六条车道。",
        KEEP,
        "one more sentence: containment",
    ),
    # Japanese
    (
        "ja",
        "この橋は二つの町を結ぶ重要な交通路であり、毎日多くの車が通行している。",
        "この橋は二つの町を結ぶ重要な交通路ではなく、毎日多くの車が通行している。",
        KEEP,
        "ない: a negation",
    ),
    (
        "ja",
        "市は新しいフェリー航路を来年の夏から運航すると発表し、観光客の増加を見込んでいる。",
        "市は新しいフェリー航路を来年の夏から運航すると発表し、観光客の増加を見込んでいる。続きを読む",
        REMOVE,
        "a read-more tail",
    ),
]


@pytest.mark.parametrize("language, first, later, decision, why", CASES, ids=[f"{c[0]}-{c[4]}" for c in CASES])
def test_tricky_pair(language, first, later, decision, why):
    text = f"Title\n\n{first}\n\n{later}\n"
    result = clean_text(text)
    removed = [r.unit.index for r in result.removals]
    assert removed == ([2] if decision == REMOVE else []), (
        why,
        compare(Features.of(later, False), Features.of(first, False), 90.0, explain=True),
    )


@pytest.mark.parametrize("line", ["广告", "（完）", "広告", "関連記事", "Реклама", "Anzeige", "إعلان", "विज्ञापन"])
def test_short_lines_in_every_script_are_kept(line):
    text = f"Title\n\n{line}\n\nA paragraph that says something of its own here.\n\n{line}\n"
    assert clean_text(text).removals == []


def test_a_heading_that_introduces_new_text_is_structure():
    text = (
        "# Changelog\n\n## 1.1\n\n### Added\n\n- A second feature that users asked for.\n\n"
        "## 1.0\n\n### Added\n\n- The first feature of the tool, cleaning files.\n"
    )
    result = clean_text(text, name="CHANGELOG.md")
    assert result.removals == []
    assert any("section heading" in m.reason for m in result.near_misses)


def test_a_repeated_title_goes_whatever_follows():
    text = (
        "Harbour Bridge Reopens\n\nThe bridge opened on Monday after two years of work.\n\n"
        "**Harbour Bridge Reopens**\n\nTraffic was light on the first morning, officials said.\n"
    )
    assert [r.unit.index for r in clean_text(text).removals] == [2]


def test_html_dedup_off_comments_protect_units():
    para = "<p>The council voted on Tuesday to approve the new harbour budget for next year.</p>"
    html = (
        f"<html><body>\n<h1>T</h1>\n{para}\n<!-- dedup: off -->\n{para}\n<!-- dedup: on -->\n{para}\n</body></html>\n"
    )
    result = clean_text(html, name="a.html")
    assert len(result.removals) == 1 and result.text.count(para) == 2
