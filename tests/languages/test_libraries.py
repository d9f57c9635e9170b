#!/usr/bin/python3
"""The sandbox's libraries, end to end: programs that make the documents,
images and maps LibreChat users ask for, run through POST /v1/exec of a whole
appliance (sockproxy, privd, frontd) on the real Docker engine with the
shipped policy. Every file comes back as an output file and is checked by
opening it: here with the standard library (zipfile for Office files, the
PNG header for images, json for GeoJSON), or by a second run that gets it
as an input file and reads it with another library.

    test_libraries.py GROUP [test_NAME...]

GROUP is one of documents, images, maps, node, list (one meson test each, so
each stays well under 3 minutes).
"""
import io
import json
import os
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET
import zipfile
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import test_api  # noqa: E402
from cwtest import check, main  # noqa: E402
from test_api import download, out_names, setup, upload  # noqa: E402

PNG = b"\x89PNG\r\n\x1a\n"
CHART_NS = "http://schemas.openxmlformats.org/drawingml/2006/chart"


def run(lang, code, want, files=None):
    """Run CODE; it must exit 0 and return exactly the output files WANT (the
    files it wrote; input files come back only when changed)."""
    a = setup()
    extra = {"files": files} if files else {}
    j = a.exec(lang, code, **extra)
    check(j["run"]["code"] == 0 and out_names(j) == sorted(want),
          "run %r files %r\nstdout %r\nstderr %r" % (j.get("run"), out_names(j), j["stdout"], j["stderr"]))
    return j


def png_size(data):
    """(width, height) from a PNG's IHDR; fails unless DATA is a PNG."""
    check(data[:8] == PNG and data[12:16] == b"IHDR", "not a PNG: %r" % data[:16])
    return struct.unpack(">II", data[16:24])


def make_png(width, height):
    """A grey gradient as an 8-bit greyscale PNG, made with the standard library."""
    rows = b"".join(b"\0" + bytes((x * 255 // width) for x in range(width)) for _ in range(height))

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    return (PNG + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def zip_part(data, name):
    z = zipfile.ZipFile(io.BytesIO(data))
    check(z.testzip() is None, "a corrupt member in the archive")
    return z.read(name).decode("utf-8")


def zip_names(data):
    return zipfile.ZipFile(io.BytesIO(data)).namelist()


def pdf_text(a, name, data):
    """The text of PDF DATA, read by pdfminer in a second run."""
    check(data.startswith(b"%PDF-") and b"%%EOF" in data[-64:], "%s is not a PDF: %r" % (name, data[:16]))
    ref = upload(a, name, data)
    j = run("py", "from pdfminer.high_level import extract_text\n"
                  "print(' '.join(extract_text(%r).split()))\n" % name, [], files=[ref])
    return j["stdout"].strip()


# --- documents ---------------------------------------------------------------

def test_documents_xlsx_chart_openpyxl():
    a = setup()
    j = run("py", """
from openpyxl import Workbook
from openpyxl.chart import BarChart, Reference
wb = Workbook()
ws = wb.active
ws.title = "Sales"
ws.append(["month", "sales"])
for row in [["Jan", 120], ["Feb", 95], ["Mar", 143]]:
    ws.append(row)
chart = BarChart()
chart.title = "Sales by month"
chart.add_data(Reference(ws, min_col=2, min_row=1, max_row=4), titles_from_data=True)
chart.set_categories(Reference(ws, min_col=1, min_row=2, max_row=4))
ws.add_chart(chart, "D2")
wb.save("sales.xlsx")
""", ["sales.xlsx"])
    data = download(a, j, "sales.xlsx")
    charts = [n for n in zip_names(data) if n.startswith("xl/charts/chart")]
    check(len(charts) == 1, "chart parts %r" % charts)
    chart = ET.fromstring(zip_part(data, charts[0]))
    check(chart.find(".//{%s}barChart" % CHART_NS) is not None, "no bar chart in %s" % charts[0])
    check("Sales by month" in "".join(chart.itertext()), "the chart lacks its title")
    check("<v>143</v>" in zip_part(data, "xl/worksheets/sheet1.xml"), "the sheet lacks its values")


def test_documents_xlsx_exceljs_read_by_openpyxl():
    a = setup()
    j = run("js", """
const ExcelJS = require('exceljs');
(async () => {
  const wb = new ExcelJS.Workbook();
  const ws = wb.addWorksheet('Stock');
  ws.columns = [{ header: 'item', key: 'item' }, { header: 'count', key: 'count' }];
  ws.addRow({ item: 'apples', count: 12 });
  ws.addRow({ item: 'pears', count: 30 });
  ws.getCell('C1').value = { formula: 'SUM(B2:B3)', result: 42 };
  await wb.xlsx.writeFile('stock.xlsx');
})();
""", ["stock.xlsx"])
    data = download(a, j, "stock.xlsx")
    check("xl/worksheets/sheet1.xml" in zip_names(data), "no sheet in %r" % zip_names(data))
    ref = upload(a, "stock.xlsx", data)
    j = run("py", "import openpyxl\nws = openpyxl.load_workbook('stock.xlsx')['Stock']\n"
                  "print([[c.value for c in r] for r in ws.iter_rows()])\n", [], files=[ref])
    check(j["stdout"] == "[['item', 'count', '=SUM(B2:B3)'], ['apples', 12, None], ['pears', 30, None]]\n",
          "openpyxl read %r" % j["stdout"])


def test_documents_docx_python_docx():
    a = setup()
    j = run("py", """
from docx import Document
d = Document()
d.add_heading("Meeting notes", level=1)
d.add_paragraph("Budget approved for the Oslo office.")
t = d.add_table(rows=2, cols=2)
t.cell(0, 0).text = "owner"
t.cell(1, 0).text = "Ada"
d.save("notes.docx")
""", ["notes.docx"])
    doc = zip_part(download(a, j, "notes.docx"), "word/document.xml")
    for text in ("Meeting notes", "Budget approved for the Oslo office.", "<w:tbl>", "Ada"):
        check(text in doc, "document.xml lacks %r" % text)


def test_documents_docx_docxtpl():
    a = setup()
    j = run("py", """
import os, tempfile
from docx import Document
from docxtpl import DocxTemplate
tpl = os.path.join(tempfile.mkdtemp(), "letter.docx")
d = Document()
d.add_paragraph("Dear {{ name }},")
d.add_paragraph("{% for i in items %}{{ i }}; {% endfor %}")
d.save(tpl)
doc = DocxTemplate(tpl)
doc.render({"name": "Grace Hopper", "items": ["compiler", "COBOL"]})
doc.save("letter.docx")
""", ["letter.docx"])
    doc = zip_part(download(a, j, "letter.docx"), "word/document.xml")
    check("Dear Grace Hopper," in doc and "compiler; COBOL;" in doc, "not rendered: %r" % doc[-600:])
    check("{{" not in doc and "{%" not in doc, "template tags left in %r" % doc[-600:])


def test_documents_pptx_pptxgenjs():
    a = setup()
    j = run("js", """
const pptxgen = require('pptxgenjs');
const p = new pptxgen();
const s = p.addSlide();
s.addText('Quarterly review', { x: 1, y: 1, fontSize: 32 });
s.addChart(p.ChartType.bar, [{ name: 'Sales', labels: ['Q1', 'Q2'], values: [10, 20] }],
           { x: 1, y: 2, w: 6, h: 3 });
p.addSlide().addText('Thanks', { x: 1, y: 1 });
p.writeFile({ fileName: 'review.pptx' }).then((f) => console.log('wrote', f));
""", ["review.pptx"])
    data = download(a, j, "review.pptx")
    names = zip_names(data)
    check("ppt/slides/slide1.xml" in names and "ppt/slides/slide2.xml" in names, "slides %r" % names)
    check("Quarterly review" in zip_part(data, "ppt/slides/slide1.xml"), "slide 1 lacks its title")
    check(any(n.startswith("ppt/charts/chart") for n in names), "no chart part in %r" % names)


def test_documents_pdf_reportlab_read_by_pdfminer():
    a = setup()
    j = run("py", """
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas
c = canvas.Canvas("invoice.pdf", pagesize=A4)
c.drawString(72, 760, "Invoice 2024-117")
c.drawString(72, 740, "Total due: 1,250.00 EUR")
c.showPage()
c.save()
""", ["invoice.pdf"])
    text = pdf_text(a, "invoice.pdf", download(a, j, "invoice.pdf"))
    check(text == "Invoice 2024-117 Total due: 1,250.00 EUR", "pdfminer read %r" % text)


# --- images ------------------------------------------------------------------

def test_images_ocr_tesseract():
    a = setup()
    j = run("py", """
import subprocess
import tesserocr
from PIL import Image, ImageDraw, ImageFont
img = Image.new("L", (900, 140), 255)
font = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", 56)
ImageDraw.Draw(img).text((30, 35), "Hello codeward 42", font=font, fill=0)
img.save("scan.png")
print(" ".join(tesserocr.image_to_text(img).split()))
print(" ".join(subprocess.run(["tesseract", "scan.png", "-", "--psm", "7"], capture_output=True,
                              text=True, check=True).stdout.split()))
""", ["scan.png"])
    check(j["stdout"] == "Hello codeward 42\nHello codeward 42\n", "OCR read %r" % j["stdout"])
    check(png_size(download(a, j, "scan.png")) == (900, 140), "scan.png is not 900x140")


def test_images_opencv():
    a = setup()
    ref = upload(a, "photo.png", make_png(160, 120))
    j = run("py", """
import cv2
img = cv2.imread("photo.png", cv2.IMREAD_GRAYSCALE)
small = cv2.resize(img, (80, 60), interpolation=cv2.INTER_AREA)
edges = cv2.Canny(cv2.GaussianBlur(small, (3, 3), 0), 10, 40)
cv2.rectangle(small, (10, 10), (30, 30), 255, -1)
cv2.imwrite("small.png", small)
cv2.imwrite("edges.png", edges)
print(img.shape, small.shape, int(small[20, 20]))
""", ["small.png", "edges.png"], files=[ref])
    check(j["stdout"] == "(120, 160) (60, 80) 255\n", "stdout %r" % j["stdout"])
    check(png_size(download(a, j, "small.png")) == (80, 60), "small.png is not 80x60")
    check(png_size(download(a, j, "edges.png")) == (80, 60), "edges.png is not 80x60")


def test_images_scikit_image():
    a = setup()
    ref = upload(a, "photo.png", make_png(64, 32))
    j = run("py", """
import numpy as np
from skimage import io, transform, filters, util
img = io.imread("photo.png")
big = transform.rescale(img, 2, anti_aliasing=True)
rot = transform.rotate(big, 90, resize=True)
io.imsave("rotated.png", util.img_as_ubyte(rot))
print(img.shape, rot.shape, round(float(filters.sobel(big).max()), 3) > 0)
""", ["rotated.png"], files=[ref])
    check(j["stdout"] == "(32, 64) (128, 64) True\n", "stdout %r" % j["stdout"])
    check(png_size(download(a, j, "rotated.png")) == (64, 128), "rotated.png is not 64x128")


def test_images_qr_code_decoded():
    a = setup()
    j = run("py", """
import qrcode
qrcode.make("https://example.org/invoice/117").save("qr.png")
""", ["qr.png"])
    data = download(a, j, "qr.png")
    w, h = png_size(data)
    check(w == h and w >= 100, "qr.png is %dx%d" % (w, h))
    ref = upload(a, "qr.png", data)
    j = run("py", "from PIL import Image\nfrom pyzbar.pyzbar import decode\n"
                  "print([(s.type, s.data.decode()) for s in decode(Image.open('qr.png'))])\n",
            [], files=[ref])
    check(j["stdout"] == "[('QRCODE', 'https://example.org/invoice/117')]\n", "decoded %r" % j["stdout"])


def test_images_svg_to_png_cairosvg():
    a = setup()
    j = run("py", """
import cairosvg
svg = b'''<svg xmlns="http://www.w3.org/2000/svg" width="100" height="50">
<rect width="100" height="50" fill="#1e90ff"/><text x="10" y="30">chart</text></svg>'''
cairosvg.svg2png(bytestring=svg, write_to="logo.png", output_width=300, output_height=150)
""", ["logo.png"])
    check(png_size(download(a, j, "logo.png")) == (300, 150), "logo.png is not 300x150")


def test_images_svglib():
    a = setup()
    j = run("py", """
import io
from svglib.svglib import svg2rlg
from reportlab.graphics import renderPDF
svg = b'<svg xmlns="http://www.w3.org/2000/svg" width="200" height="100"><circle cx="50" cy="50" r="40"/></svg>'
renderPDF.drawToFile(svg2rlg(io.BytesIO(svg)), "circle.pdf")
""", ["circle.pdf"])
    data = download(a, j, "circle.pdf")
    check(data.startswith(b"%PDF-") and b"/MediaBox [ 0 0 200 100 ]" in data, "circle.pdf: %r" % data[:300])


def test_images_wordcloud():
    a = setup()
    j = run("py", """
from wordcloud import WordCloud
text = "python data chart python excel python map chart slide report report"
wc = WordCloud(width=400, height=200, background_color="white").generate(text)
wc.to_file("cloud.png")
print(sorted(wc.words_)[:3])
""", ["cloud.png"])
    check(j["stdout"] == "['chart', 'data', 'excel']\n", "stdout %r" % j["stdout"])
    check(png_size(download(a, j, "cloud.png")) == (400, 200), "cloud.png is not 400x200")


def test_images_numba_in_the_limits():
    j = run("py", """
import numpy as np
from numba import njit
@njit(cache=True)
def total(a):
    s = 0.0
    for x in a:
        s += x
    return s
print(total(np.arange(1000.0)))
""", [])
    check(j["stdout"] == "499500.0\n", "stdout %r" % j["stdout"])


# --- maps and charts -----------------------------------------------------------

def test_maps_folium_html():
    a = setup()
    j = run("py", """
import folium
m = folium.Map(location=[59.91, 10.75], zoom_start=12)
folium.Marker([59.9127, 10.7461], popup="Oslo office").add_to(m)
m.save("map.html")
""", ["map.html"])
    html = download(a, j, "map.html").decode("utf-8")
    check("L.map(" in html and "[59.9127, 10.7461]" in html and "Oslo office" in html,
          "map.html lacks the map or the marker")


def test_maps_geopandas_geojson():
    a = setup()
    j = run("py", """
import geopandas as gpd
from shapely.geometry import Point
g = gpd.GeoDataFrame({"city": ["Oslo", "Rome"]},
                     geometry=[Point(10.75, 59.91), Point(12.5, 41.9)], crs="EPSG:4326")
print(round(float(g.to_crs(3857).geometry.x.iloc[0])))
g.to_file("cities.geojson", driver="GeoJSON")
""", ["cities.geojson"])
    check(j["stdout"] == "1196685\n", "stdout %r" % j["stdout"])
    fc = json.loads(download(a, j, "cities.geojson"))
    check(fc["type"] == "FeatureCollection" and len(fc["features"]) == 2, "GeoJSON %r" % fc)
    f = fc["features"][0]
    check(f["properties"]["city"] == "Oslo" and f["geometry"] == {"type": "Point", "coordinates": [10.75, 59.91]},
          "first feature %r" % f)


def test_maps_plotly_html():
    a = setup()
    j = run("py", """
import plotly.express as px
fig = px.bar(x=["Jan", "Feb", "Mar"], y=[120, 95, 143], title="Sales by month")
fig.write_html("sales.html", include_plotlyjs=True, full_html=True)
""", ["sales.html"])
    html = download(a, j, "sales.html").decode("utf-8")
    check("Plotly.newPlot(" in html and "Sales by month" in html and '"Feb"' in html,
          "sales.html lacks the figure")
    check("plotly.js v" in html and '<script src="https://cdn.plot.ly' not in html,
          "sales.html does not embed plotly.js")


# --- JavaScript and TypeScript -------------------------------------------------

def test_node_sharp_resizes_png():
    a = setup()
    ref = upload(a, "photo.png", make_png(200, 100))
    j = run("js", """
const sharp = require('sharp');
sharp('photo.png').resize(50, 25).png().toFile('thumb.png')
  .then((info) => console.log(info.width, info.height, info.format));
""", ["thumb.png"], files=[ref])
    check(j["stdout"] == "50 25 png\n", "stdout %r stderr %r" % (j["stdout"], j["stderr"]))
    check(png_size(download(a, j, "thumb.png")) == (50, 25), "thumb.png is not 50x25")


def test_node_pdf_lib_read_by_pdfminer():
    a = setup()
    j = run("js", """
import { PDFDocument, StandardFonts } from 'pdf-lib';
import { writeFileSync } from 'fs';
const doc = await PDFDocument.create();
const font = await doc.embedFont(StandardFonts.Helvetica);
doc.addPage([400, 200]).drawText('Shipped by pdf-lib', { x: 40, y: 100, size: 18, font });
writeFileSync('shipped.pdf', await doc.save());
""", ["shipped.pdf"])
    text = pdf_text(a, "shipped.pdf", download(a, j, "shipped.pdf"))
    check(text == "Shipped by pdf-lib", "pdfminer read %r" % text)


def test_node_papaparse_csv():
    a = setup()
    ref = upload(a, "people.csv", 'name,age,city\nAda,36,London\n"Hopper, Grace",85,"New York"\n')
    j = run("js", """
const fs = require('fs');
const Papa = require('papaparse');
const r = Papa.parse(fs.readFileSync('people.csv', 'utf8'), { header: true, dynamicTyping: true, skipEmptyLines: true });
fs.writeFileSync('people.json', JSON.stringify(r.data));
console.log(r.errors.length, r.meta.fields.join('|'));
""", ["people.json"], files=[ref])
    check(j["stdout"] == "0 name|age|city\n", "stdout %r" % j["stdout"])
    got = json.loads(download(a, j, "people.json"))
    check(got == [{"name": "Ada", "age": 36, "city": "London"},
                  {"name": "Hopper, Grace", "age": 85, "city": "New York"}], "people.json %r" % got)


def test_node_typescript_imports():
    j = run("ts", """
import Papa from 'papaparse';
import dayjs from 'dayjs';
import { z } from 'zod';
const Row = z.object({ n: z.number() });
const rows: Array<{ n: number }> = Papa.parse<{ n: number }>('n\\n1\\n2', { header: true, dynamicTyping: true }).data;
console.log(rows.map((r) => Row.parse(r).n).join('+'), dayjs('2024-02-28').add(1, 'day').format('YYYY-MM-DD'));
""", [])
    check(j["stdout"] == "1+2 2024-02-29\n", "stdout %r stderr %r" % (j["stdout"], j["stderr"]))


# --- every library loads, and sandbox/README.md's list is the image's ----------

def libraries_listed():
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path.insert(0, os.path.join(here, "..", "..", "sandbox"))
    import libraries
    return libraries


def test_list_every_library_loads():
    lib = libraries_listed()
    j = run("py", "import importlib\nfor m in %r:\n    importlib.import_module(m)\nprint('ok')\n"
            % lib.python_modules(), [])
    check(j["stdout"] == "ok\n", "stdout %r stderr %r" % (j["stdout"], j["stderr"]))
    for kind in ("js", "mjs"):
        names = lib.npm_names(os.path.join(lib.HERE, "npm", "package.json"))
        if kind == "js":
            code = "for (const m of %s) require(m);\nconsole.log('ok');\n" % json.dumps(names)
        else:
            code = "".join("import * as m%d from '%s';\n" % (i, n) for i, n in enumerate(names))
            code += "console.log('ok');\n"
        j = run("js", code, [])
        check(j["stdout"] == "ok\n", "%s: stdout %r stderr %r" % (kind, j["stdout"], j["stderr"]))


def test_list_readme_is_the_image():
    lib = libraries_listed()
    r = subprocess.run([sys.executable, os.path.join(lib.HERE, "libraries.py"), "--check"],
                       capture_output=True, text=True)
    check(r.returncode == 0, "sandbox/libraries.py --check: %s%s" % (r.stdout, r.stderr))


GROUPS = ("documents", "images", "maps", "node", "list")

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in GROUPS:
        sys.exit("usage: test_libraries.py {%s} [test_NAME...]" % "|".join(GROUPS))
    group = sys.argv.pop(1)
    tests = {n: f for n, f in globals().items() if n.startswith("test_%s_" % group)}
    tests["test_zz_stop_leaves_nothing"] = test_api.test_zz_stop_leaves_nothing
    try:
        main(tests)
    finally:
        if test_api.app is not None:
            test_api.app.stop(check_leftovers=False)
