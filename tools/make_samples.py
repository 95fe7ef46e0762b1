#!/usr/bin/env python3
"""Regenerate the binary (and CP949) files of the Jikji sample corpus under ``samples/documents/``.

The corpus describes a fictional company, 한빛솔루션 주식회사 (Hanbit Solutions). Text-format
documents (.md, .txt, .html) are kept in ``samples/documents/`` as written; this script produces the
formats that need a library:

* PDF  - 출장·경비 규정, 재택근무 규정 (fpdf2 + NanumGothic)
* DOCX - 정보보안 지침, 인사평가 제도 안내 (python-docx)
* PPTX - 한빛 DocuFlow 제품 소개서 (python-pptx, with speaker notes)
* XLSX - 조직도 (openpyxl; sheets 조직, 위원회, 임원)
* TXT  - 차량운행규정_cp949.txt (CP949-encoded, to exercise encoding detection)

Output is deterministic: fixed document metadata, fixed PDF creation date, and every
OOXML zip is rewritten with fixed member timestamps and fixed core-property dates, so
running the script twice yields byte-identical files.

Usage::

    python tools/make_samples.py            # writes into <repo>/samples/documents
    python tools/make_samples.py --out DIR  # writes elsewhere

Needs: fpdf2, python-docx, python-pptx, openpyxl, and a Korean TTF (NanumGothic; Debian/Ubuntu
package ``fonts-nanum``). Set ``JIKJI_KO_FONT`` / ``JIKJI_KO_FONT_BOLD`` to use other font files.
"""

# ruff: noqa: E501
# (The document sources below are prose with one paragraph per line; wrapping them would change the text.)
from __future__ import annotations

import argparse
import io
import logging
import os
import re
import sys
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import docx
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Pt, RGBColor
from fpdf import FPDF
from fpdf.enums import XPos, YPos
from fpdf.fonts import FontFace
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from pptx import Presentation
from pptx.util import Emu

REPO = Path(__file__).resolve().parent.parent
FIXED_DT = datetime(2025, 3, 1, 9, 0, 0, tzinfo=UTC)
FIXED_DT_NAIVE = FIXED_DT.replace(tzinfo=None)
ZIP_DT = (2025, 3, 1, 9, 0, 0)
AUTHOR = "한빛솔루션 주식회사"

FONT_CANDIDATES = [
    "/usr/share/fonts/truetype/nanum/NanumGothic.ttf",
    "/usr/share/fonts/nanum/NanumGothic.ttf",
    "/Library/Fonts/NanumGothic.ttf",
]


# ---------------------------------------------------------------------------
# Document sources (a tiny markup shared by the PDF and DOCX writers)
#
#   # 제목            document title
#   ## 장 제목        level-1 heading
#   ### 조 제목       level-2 heading
#   - 항목            bullet list item
#   | a | b |         table row (first row of a block = header)
#   > 문장            note / callout paragraph
#   anything else     one paragraph per line
# ---------------------------------------------------------------------------

TRAVEL_REG = """
# 출장 및 경비 규정
제정: 2010년 1월 1일 / 개정: 2019년 4월 1일, 2023년 3월 1일, 2025년 3월 1일
시행일: 2025년 3월 1일
주관부서: 경영지원본부 재무회계팀 (내선 2610)
## 제1장 총칙
### 제1조(목적)
이 규정은 한빛솔루션 주식회사(이하 "회사"라 한다) 임직원의 국내외 출장에 필요한 절차와 여비 지급 기준, 경비 정산 방법을 정함을 목적으로 한다.
### 제2조(적용 범위)
① 이 규정은 회사의 모든 임직원에게 적용한다.
② 회사의 요청으로 출장하는 외부 인사(자문위원, 사외 강사 등)에게는 수석 직급에 준하는 기준을 적용한다.
### 제3조(용어의 정의)
1. "국내출장"이란 근무지(서울 본사 또는 판교 R&D센터)를 벗어나 국내의 다른 장소에서 업무를 수행하는 것을 말한다. 다만, 서울특별시와 경기도 성남시 안에서의 이동은 출장으로 보지 아니하며 실비 교통비만 지급한다.
2. "당일출장"이란 숙박하지 아니하고 출발한 날 복귀하는 국내출장을 말한다.
3. "해외출장"이란 업무 수행을 위하여 국외로 여행하는 것을 말한다.
4. "장기출장"이란 같은 장소에서 30일을 초과하여 계속되는 출장을 말한다.
5. "여비"란 교통비, 일비, 식비, 숙박비를 말한다.
## 제2장 출장 절차
### 제4조(출장 신청)
① 출장자는 그룹웨어 출장품의서에 출장 목적, 기간, 방문처, 예상 경비를 적어 다음 기한까지 신청한다.
- 국내출장: 출발일 3영업일 전까지
- 해외출장: 출발일 14일 전까지 (비자가 필요한 국가는 30일 전까지)
② 고객사 장애 대응 등 긴급한 경우에는 사후 신청할 수 있으며, 출장 복귀 후 2영업일 이내에 품의를 완료하여야 한다.
### 제5조(승인권자)
| 출장 구분 | 승인권자 |
| 국내출장 (팀원) | 팀장 |
| 국내출장 (팀장) | 본부장 |
| 해외출장 (임원 외) | 본부장 |
| 해외출장 (임원) | 대표이사 |
| 장기출장 | 본부장 (임원은 대표이사) |
### 제6조(출장 결과 보고)
출장자는 복귀 후 5영업일 이내에 출장 결과보고서를 그룹웨어에 등록하여야 한다. 당일출장의 경우 팀장이 인정하면 결과 보고를 생략할 수 있다.
## 제3장 국내출장 여비
### 제7조(국내 여비 지급 기준)
① 국내출장 여비는 [별표 1]에 따라 지급한다.
② 일비와 식비는 정액으로 지급하며 영수증을 제출하지 아니한다. 숙박비는 한도 내에서 실비로 지급한다.
③ 당일출장의 일비는 [별표 1] 금액의 2분의 1을 지급하며, 식비는 출장 중 식사 횟수에 따라 1끼 1만원을 지급한다.
④ 거래처나 주최 측이 식사 또는 숙박을 제공한 경우에는 해당 식비 또는 숙박비를 지급하지 아니한다.
[별표 1] 국내출장 여비 기준 (1일 또는 1박 기준, 단위: 원)
| 직급 | 일비 | 식비 | 숙박비 (서울·광역시) | 숙박비 (그 밖의 지역) |
| 임원 | 50,000 | 40,000 | 200,000 | 170,000 |
| 수석 | 40,000 | 35,000 | 140,000 | 120,000 |
| 책임 | 35,000 | 30,000 | 120,000 | 100,000 |
| 선임·사원 | 30,000 | 30,000 | 120,000 | 100,000 |
> 제주특별자치도의 숙박비 한도는 "서울·광역시" 기준을 적용한다. 7월 15일부터 8월 31일까지의 성수기에는 숙박비 한도를 20퍼센트 올려 적용한다.
### 제8조(국내 교통비)
① 철도는 KTX·SRT 일반실을 이용한다. 다만, 임원은 특실을 이용할 수 있다.
② 항공은 제주 등 도서 지역 또는 편도 철도 이동 시간이 4시간을 넘는 경우에 한하여 일반석을 이용한다.
③ 회사의 승인을 받아 개인 차량을 이용하는 경우에는 주행거리 1킬로미터당 250원과 통행료, 주차비 실비를 지급한다. 주행거리는 지도 서비스의 최단 경로를 기준으로 한다.
④ 회사 업무용 차량 이용에 관하여는 차량 운행 규정에 따른다.
⑤ 택시는 대중교통 이용이 곤란한 경우에 한하여 실비로 지급한다.
### 제9조(숙박 관련 특례)
① 2명 이상이 함께 출장하는 경우 숙박비는 각자의 한도를 합한 금액 범위에서 실비로 정산할 수 있다.
② 친지의 집 등에 머물러 숙박비를 사용하지 아니한 경우에는 1박당 3만원을 지급한다.
③ 한도를 넘는 숙박비는 출장자 본인이 부담한다. 다만, 행사 등으로 인근 숙소가 부족하다는 사실을 소명하여 본부장의 승인을 받은 경우에는 실비를 지급한다.
### 제10조(장기출장)
장기출장의 경우 출장 31일째부터 일비를 [별표 1] 금액의 80퍼센트로 감액하여 지급하고, 숙박은 회사가 계약한 레지던스 등을 우선 이용한다.
## 제4장 해외출장 여비
### 제11조(해외 지역 구분)
해외출장 여비 지급을 위한 지역은 다음과 같이 구분한다.
| 지역 | 해당 국가 |
| 가 지역 | 미국, 캐나다, 일본, 영국, 프랑스, 독일, 스위스, 싱가포르, 호주, 홍콩 |
| 나 지역 | 중국, 대만, 이탈리아, 스페인, 네덜란드, 아랍에미리트, 그 밖의 유럽 국가 |
| 다 지역 | 베트남, 태국, 인도네시아, 필리핀, 말레이시아, 인도, 그 밖의 모든 국가 |
### 제12조(해외 여비 지급 기준)
① 해외출장 여비는 [별표 2]에 따라 미국 달러(USD)로 산정하여 지급한다.
② 일비와 식비는 정액 지급하고, 숙박비는 지역별 한도 내에서 실비로 지급한다.
③ 기내에서 숙박하는 날에는 숙박비를 지급하지 아니하며, 출국일과 귀국일은 각각 1일로 계산하여 일비를 지급한다.
[별표 2] 해외출장 여비 기준 (1일 또는 1박 기준, 단위: USD)
| 직급 | 일비 | 식비 | 숙박비 가 지역 | 숙박비 나 지역 | 숙박비 다 지역 |
| 임원 | 90 | 80 | 350 | 280 | 220 |
| 수석 | 70 | 65 | 250 | 200 | 160 |
| 책임 | 60 | 55 | 220 | 180 | 140 |
| 선임·사원 | 50 | 50 | 200 | 160 | 130 |
> 미국 뉴욕·샌프란시스코, 영국 런던, 스위스 취리히, 일본 도쿄 출장 시에는 가 지역 숙박비 한도에 USD 50을 더하여 적용한다.
### 제13조(항공 및 현지 교통)
① 항공권은 총무팀이 지정한 여행사를 통하여 발권한다. 출장자가 직접 구매한 항공권은 지정 여행사 견적보다 저렴한 경우에만 인정한다.
② 항공 좌석 등급은 다음과 같다.
- 임원: 비즈니스석
- 수석 이하: 일반석. 다만, 편도 비행시간이 10시간 이상인 경우 수석은 프리미엄 일반석을 이용할 수 있다.
③ 현지 교통비(철도, 택시, 공항 이동 등)는 영수증에 따라 실비로 지급한다.
④ 데이터 로밍 또는 현지 유심 비용은 1일 1만 1천원 범위에서 실비로 지급한다.
### 제14조(환율 적용)
여비를 원화로 환산할 때에는 출장 출발일 직전 영업일의 서울외국환중개 매매기준율을 적용한다. 해외 사용 법인카드로 결제한 금액은 카드사 청구 금액을 기준으로 한다.
### 제15조(가지급금)
① 해외출장자는 예상 여비의 80퍼센트 범위에서 가지급금을 신청할 수 있으며, 출발 5영업일 전까지 재무회계팀에 신청한다.
② 가지급금은 출장 정산 시 정산하며, 정산 기한을 넘기면 다음 달 급여에서 공제한다.
### 제16조(출장자 보험 및 안전)
① 회사는 해외출장자 전원을 해외여행자보험에 일괄 가입시키며, 출장품의 승인 시 총무팀이 자동으로 가입을 처리한다.
② 외교부 여행경보 3단계(출국권고) 이상 지역으로의 출장은 금지한다.
③ 해외출장 중 회사 노트북을 반출하는 경우에는 정보보안 지침에 따라 사전 신고한다.
## 제5장 경비 정산
### 제17조(정산 기한)
① 출장자는 다음 기한까지 경비 시스템에서 출장비 정산을 완료하여야 한다.
- 국내출장: 복귀일로부터 7일 이내
- 해외출장: 귀국일로부터 14일 이내
② 정산 기한을 넘긴 건은 본부장의 승인을 받아야 하며, 3개월이 지나면 지급하지 아니한다.
### 제18조(증빙)
① 숙박비, 교통비, 현지 교통비는 영수증 또는 카드 매출전표를 첨부한다.
② 해외 영수증은 사진 또는 스캔 파일로 첨부하고 원본은 제출하지 아니한다.
③ 허위 또는 중복 청구가 확인된 경우에는 전액을 환수하며 취업규칙에 따라 징계할 수 있다.
### 제19조(법인카드 사용)
출장 중 고객 접대 등 업무추진비 지출과 법인카드 사용에 관하여는 「법인카드 사용 지침 및 경비 처리 FAQ」를 따른다. 출장 중 본인 식사는 식비가 정액 지급되므로 법인카드로 결제하지 아니한다.
## 부칙
### 제1조(시행일)
이 규정은 2025년 3월 1일부터 시행한다.
### 제2조(경과조치)
이 규정 시행 전에 출발한 출장의 여비는 종전의 규정에 따른다.
"""

REMOTE_REG = """
# 재택근무 규정
제정: 2020년 3월 2일 / 개정: 2022년 1월 1일, 2025년 3월 1일
시행일: 2025년 3월 1일
주관부서: 경영지원본부 인사팀 (내선 2310), 보안 관련 사항: 정보보호실 정보보안팀 (내선 2550)
## 제1장 총칙
### 제1조(목적)
이 규정은 취업규칙 제21조에 따라 재택근무의 대상, 신청 절차, 근무 방법, 보안 및 지원에 관한 사항을 정함을 목적으로 한다.
### 제2조(정의)
"재택근무"란 직원이 사전에 등록한 자택에서 회사가 지급한 정보통신기기를 이용하여 근무하는 것을 말한다.
### 제3조(적용 대상)
① 수습기간을 마친 직원은 이 규정에 따라 재택근무를 신청할 수 있다.
② 다음 각 호의 어느 하나에 해당하는 직원은 재택근무를 할 수 없다.
1. 수습기간 중인 직원 (입사 후 3개월)
2. 서버실 당직, 안내데스크 등 사업장 상주가 필요한 직무로 본부장이 지정한 직원
3. 재택근무 규정 위반으로 재택근무가 제한된 기간 중인 직원
## 제2장 재택근무의 유형과 신청
### 제4조(재택근무의 유형)
| 유형 | 사용 한도 | 신청 기한 | 승인권자 |
| 정기 재택 | 주 2일 이내 | 전주 금요일까지 | 팀장 |
| 긴급 재택 | 월 2회 이내 (자녀 돌봄, 가벼운 질병 등) | 당일 오전 9시 전까지 | 팀장 (사후 승인 가능) |
| 집중 재택 | 최대 2주 연속 (프로젝트 마감 등) | 시작일 7일 전까지 | 본부장 |
> 긴급 재택은 정기 재택의 주 2일 한도에 포함하지 아니한다.
### 제5조(신청 및 승인)
① 재택근무를 하려는 직원은 그룹웨어 근태 메뉴에서 재택근무를 신청하고, 제4조의 승인권자 승인을 받는다.
② 팀장은 같은 날 재택근무를 하는 인원이 팀원의 50퍼센트를 넘지 않도록 조정한다.
③ 각 팀은 주 1회 이상 전원이 사무실에 출근하는 "팀 데이"를 정하여 운영하며, 팀 데이에는 재택근무를 승인하지 아니한다.
### 제6조(근무 장소)
① 재택근무 장소는 그룹웨어에 사전 등록한 국내 자택 1곳으로 한다. 등록 장소를 바꾸려면 7일 전까지 변경 신고를 하여야 한다.
② 카페, 공유 오피스, 숙박시설 등 공공장소와 국외에서는 재택근무를 할 수 없다.
## 제3장 근무 방법
### 제7조(근무시간)
① 재택근무자의 근무시간은 취업규칙에 따르며, 시차출퇴근제를 그대로 적용한다.
② 재택근무자도 코어타임(오전 10시부터 오후 4시까지)에는 반드시 업무에 응할 수 있어야 한다.
③ 재택근무자는 그룹웨어 근태 메뉴에서 근무 시작과 종료를 기록한다.
④ 재택근무 중 연장근로는 원칙적으로 허용하지 아니하며, 불가피한 경우 사전에 팀장의 승인을 받는다.
### 제8조(소통)
① 재택근무자는 근무시간 중 사내 메신저 상태를 "근무 중"으로 유지하고, 메신저나 전화 연락에 30분 이내에 응답하여야 한다.
② 재택근무자는 매주 월요일 오전 10시까지 주간 업무 계획을 팀 채널에 공유한다.
③ 화상회의에 참여할 때는 카메라를 켜는 것을 원칙으로 하며, 배경 흐림 기능을 사용한다.
## 제4장 보안
### 제9조(보안 준수 사항)
재택근무자는 다음 각 호를 지켜야 한다.
1. 회사가 지급한 노트북만 사용하고, VPN(HanbitConnect)에 접속한 상태에서 사내 시스템을 이용할 것
2. 공용 Wi-Fi를 사용하지 말고, 자택 인터넷 또는 개인 휴대폰 테더링을 이용할 것
3. 회사 노트북을 가족 등 다른 사람과 함께 사용하지 말 것
4. 자택 프린터로 회사 문서를 출력하지 말 것
5. 자리를 비울 때에는 화면을 잠글 것
6. 대외비 이상 문서는 화면 공유나 촬영이 되지 않도록 주의할 것
### 제10조(보안 사고 신고)
재택근무 중 노트북 분실, 악성코드 감염 의심 등 보안 사고가 발생하면 즉시 정보보안팀(내선 2550)과 IT 헬프데스크(내선 2580)에 신고한다.
## 제5장 지원
### 제11조(장비 지원)
① 재택근무자는 자택용 모니터 1대를 IT인프라팀에서 대여할 수 있다. 대여 신청은 사내 포털 IT서비스 메뉴에서 한다.
② 대여 장비는 퇴직하거나 재택근무가 제한되는 경우 14일 이내에 반납한다.
### 제12조(재택근무 지원비)
① 한 달에 재택근무를 4일 이상 한 직원에게는 통신비 등 재택근무 지원비로 월 3만원을 지급한다.
② 지원비는 재택근무를 한 달의 다음 달 급여일(25일)에 지급한다.
### 제13조(재해)
재택근무 중 업무 수행과 관련하여 발생한 사고는 산업재해 보상 절차에 따라 처리하며, 직원은 사고 발생 즉시 총무팀에 알린다.
## 제6장 운영 관리
### 제14조(출근 요청)
팀장은 긴급한 업무상 필요가 있는 경우 전날 오후 6시까지 통보하여 재택근무 예정자에게 사무실 출근을 요청할 수 있다.
### 제15조(재택근무의 제한)
① 다음 각 호의 어느 하나에 해당하는 경우 인사팀은 3개월 동안 재택근무를 제한할 수 있다.
1. 등록하지 않은 장소에서 재택근무를 한 경우
2. 코어타임 중 정당한 사유 없이 2회 이상 연락이 되지 아니한 경우
3. 제9조의 보안 준수 사항을 위반한 경우
② 보안 사고를 일으킨 경우에는 취업규칙에 따라 징계할 수 있다.
## 부칙
### 제1조(시행일)
이 규정은 2025년 3월 1일부터 시행한다.
"""

SECURITY_GUIDE = """
# 정보보안 지침
문서번호: ISP-2025-01 / 보안등급: 사내한정
제정: 2011년 6월 1일 / 개정: 2023년 8월 1일, 2025년 2월 1일
시행일: 2025년 2월 1일
주관부서: 정보보호실 정보보안팀 (내선 2550, 보안 신고 메일 security@hanbitsol.example)
정보보호최고책임자(CISO): 정보보호실장 최민호 이사
## 1. 목적 및 적용 범위
이 지침은 회사의 정보자산(문서, 소스코드, 고객 데이터, 시스템)을 유출, 훼손, 오용으로부터 보호하기 위하여 모든 임직원과 사내 상주 협력업체 직원이 지켜야 할 보안 기준을 정한다.
이 지침을 위반한 경우 취업규칙에 따라 징계할 수 있으며, 고객 데이터 유출과 같은 중대한 위반은 민·형사상 책임이 따를 수 있다.
## 2. 정보자산 보안등급
모든 문서와 데이터는 작성자가 작성 시점에 아래 4개 등급 중 하나로 분류하고, 문서 머리글(헤더)에 등급을 표시한다. 등급을 표시하지 않은 문서는 "사내한정"으로 간주한다.
| 등급 | 정의 | 예시 | 취급 기준 | 보존 기간 |
| 극비 (S) | 유출 시 회사 존립에 치명적 영향 | 인수합병 검토 자료, 공시 전 재무 정보, 코드 서명키 | 지정된 인원만 열람, 출력·외부 반출 금지, 암호화 저장, 열람 기록 관리 | 10년 |
| 대외비 (A) | 유출 시 사업에 중대한 손실 | 제품 소스코드, 고객 계약서, 인사평가 결과, 개인정보 | 부서 한정 공유, 외부 전송 시 정보보안팀 승인과 암호화, 워터마크 출력 | 5년 |
| 사내한정 (B) | 임직원 사이에서만 공유 | 사내 규정, 회의록, 조직도, 내부 공지 | 외부 공유 시 팀장 승인 | 3년 |
| 공개 (C) | 외부 공개를 전제로 작성 | 보도자료, 제품 소개서, 채용 공고 | 게시 전 작성 부서장 검토 | 1년 |
등급이 다른 자료를 합친 문서는 가장 높은 등급을 따른다. 등급 하향 조정은 작성 부서장의 승인을 받아야 한다.
## 3. 계정 및 비밀번호
- 비밀번호는 최소 10자 이상으로 하며, 영문 대문자, 소문자, 숫자, 특수문자 중 3종류 이상을 조합한다.
- 비밀번호는 90일마다 변경하며, 최근 사용한 5개의 비밀번호는 다시 사용할 수 없다.
- 비밀번호를 5회 연속 잘못 입력하면 계정이 30분간 잠긴다.
- 사내 시스템, VPN, 클라우드 관리 콘솔에는 Hanbit OTP를 이용한 2단계 인증을 적용한다.
- 계정과 OTP는 어떤 경우에도 다른 사람과 공유하지 않는다. 부재 중 업무 대행은 그룹웨어 위임 기능을 사용한다.
- 퇴직자 계정은 퇴직일 18시에 비활성화하고 30일 후 삭제한다.
## 4. PC 및 단말기 보안
- 화면보호기는 10분 이후 자동 잠금으로 설정되어 있으며, 자리를 비울 때는 즉시 화면을 잠근다(Windows 키+L, macOS Control+Command+Q).
- 백신, DLP(정보유출방지), 매체제어 등 보안 에이전트를 삭제하거나 중지하지 않는다.
- 운영체제와 주요 소프트웨어의 보안 업데이트는 배포일로부터 7일 이내에 적용한다. 7일이 지나면 네트워크 접속이 제한된다.
- 노트북 디스크는 전체 암호화(BitLocker 또는 FileVault)가 적용되어 있어야 한다.
- 개인 휴대폰은 MDM 앱을 설치한 경우에 한하여 사내 메일과 메신저 앱을 사용할 수 있다. 개인 PC와 태블릿으로는 사내 시스템에 접속할 수 없다.
## 5. 저장매체 및 외부 반출
- USB 메모리, 외장 하드디스크 등 이동식 저장매체는 기본적으로 읽기·쓰기가 모두 차단된다.
- 업무상 필요한 경우 정보보안팀에 보안 USB 대여를 신청한다. 대여 기간은 최대 7일이며, 팀장 승인 후 정보보안팀이 승인한다.
- 회사 노트북을 해외로 반출하는 경우 출발 3영업일 전까지 사내 포털에 반출 신고를 하고, 귀국 후 정보보안팀의 점검을 받는다.
- 대외비 이상 문서를 출력한 경우 당일 회수하여 파쇄함에 폐기하며, 출력물은 반드시 보안출력(사원증 태그)을 이용한다.
## 6. 메일, 메신저, 클라우드
- 회사 메일을 외부 메일 주소로 자동 전달하는 설정은 허용하지 않는다.
- 대외비 문서를 외부로 보낼 때에는 정보보안팀의 사전 승인을 받고 암호를 건 파일로 보내며, 암호는 다른 경로로 전달한다.
- 개인 클라우드 저장소(개인 계정의 클라우드 드라이브 등)와 개인 메신저로 회사 자료를 주고받지 않는다. 파일 공유는 회사 승인 협업 도구만 사용한다.
- 의심 메일은 열지 말고 메일 화면의 "피싱 신고" 버튼으로 신고한다. 정보보안팀은 분기마다 모의 피싱 훈련을 실시한다.
## 7. 생성형 AI 이용
- 업무에는 회사가 승인한 사내 AI 도우미만 사용한다.
- 외부 생성형 AI 서비스에는 고객 정보, 소스코드, 사내한정 이상 등급의 문서를 입력하지 않는다.
- AI가 생성한 결과물은 사실 여부를 확인한 후 사용하며, 외부 제출 문서에 활용한 경우 작성자가 내용에 대한 책임을 진다.
- 새로운 AI 서비스의 도입이 필요하면 IT인프라팀을 통해 정보보안팀의 보안성 검토를 받는다.
## 8. 원격 접속 및 재택근무
- 사외에서 사내 시스템에 접속할 때에는 반드시 VPN(HanbitConnect)을 사용한다.
- VPN 세션은 30분 동안 사용이 없으면 종료되며, 연속 접속은 최대 12시간으로 제한한다.
- 해외에서의 VPN 접속은 사전 신청한 기간에만 허용한다.
- 재택근무 시 보안 준수 사항은 재택근무 규정 제9조를 따른다.
## 9. 물리 보안
- 사업장에서는 사원증을 항상 잘 보이게 패용한다.
- 방문객은 안내데스크에서 방문증을 발급받아야 하며, 임직원이 동행하는 경우에만 사무 공간에 출입할 수 있다.
- 서버실과 통신실은 IT인프라팀장의 승인을 받은 사람만 출입하며, 출입 기록은 1년간 보관한다.
- 매월 셋째 주 수요일은 "클린데스크 데이"로, 정보보안팀이 퇴근 후 책상 위 문서, 잠기지 않은 서랍, 모니터 부착 메모를 점검한다.
- 사무 공간에서의 사진 및 동영상 촬영은 사전 승인 없이 할 수 없다.
## 10. 개발 보안
- 소스코드는 회사 코드 저장소에만 보관하며, 개인 계정의 외부 저장소에 올리지 않는다.
- 비밀번호, API 키, 인증서 등 비밀 정보를 소스코드에 포함하거나 커밋하지 않는다. 비밀 정보는 사내 비밀관리 시스템(Vault)에 저장한다.
- 외부 오픈소스를 새로 도입할 때에는 라이선스와 알려진 취약점을 확인하고 저장소의 의존성 목록에 기록한다.
- 고객사 운영 데이터를 개발·테스트 환경에 복사하지 않는다. 부득이한 경우 가명처리 후 정보보안팀 승인을 받는다.
- 제품 출시 전 정보보안팀의 보안 취약점 점검을 받는다.
## 11. 보안 사고 신고
- 노트북·휴대폰 분실, 악성코드 감염 의심, 정보 유출 정황, 비정상적인 계정 활동을 발견한 경우 즉시(늦어도 1시간 이내) 정보보안팀에 신고한다.
- 신고 방법: 내선 2550, 보안 신고 메일, 또는 사내 포털의 "보안사고 신고" 메뉴
- 근무시간 외에는 IT인프라팀 당직자를 통해 정보보안팀 담당자에게 연락한다.
- 보안 사고를 숨기거나 신고를 늦춘 경우 가중 징계할 수 있다. 반대로 자진 신고한 경우에는 징계를 감경할 수 있다.
## 12. 보안 교육 및 점검
| 구분 | 대상 | 시기 | 방법 |
| 정보보안 기본 교육 | 신규 입사자 | 입사 후 1주일 이내 | 온라인 60분 |
| 정기 보안 교육 | 전 임직원 | 연 2회 (5월, 11월) | 온라인 또는 집합 |
| 개발 보안 교육 | 연구개발본부 | 연 1회 (9월) | 집합 4시간 |
| 모의 피싱 훈련 | 전 임직원 | 분기 1회 | 불시 실시 |
| 보안 점검 | 전 부서 | 매월 셋째 주 수요일 | 클린데스크 점검 |
보안 위반이 1년 안에 3회 이상 적발된 직원은 인사위원회에 회부한다.
## 13. 문의
- 보안 정책, 예외 승인, 보안 USB: 정보보안팀 내선 2550
- 계정, VPN, 소프트웨어 설치: IT 헬프데스크 내선 2580 (판교 3580)
"""

REVIEW_GUIDE = """
# 2025년 인사평가 제도 안내
발행: 경영지원본부 인사팀 (평가·보상 담당 내선 2311)
배포일: 2025년 1월 6일
적용 기간: 2025년 1월 1일부터 12월 31일까지의 평가 (2026년 1월 결과 통보)
## 1. 평가의 목적과 원칙
인사평가는 구성원의 성과와 성장을 공정하게 확인하고, 그 결과를 보상, 승진, 교육에 연결하기 위하여 실시한다.
- 목표 중심: 연초에 합의한 목표를 기준으로 평가한다.
- 수시 피드백: 연 1회 평가와 별도로 팀장은 분기마다 1:1 면담을 한다.
- 투명성: 평가 기준, 일정, 등급 분포를 사전에 공개한다.
## 2. 평가 대상
- 평가 기준일(12월 1일) 현재 재직 중이며, 평가 기간 중 실제 근무 기간이 3개월 이상인 직원
- 근무 기간이 3개월 미만인 직원(연중 입사자, 장기 휴직자 등)은 평가에서 제외하고 B 등급을 부여한다.
- 임원은 별도의 경영성과 평가를 받는다.
## 3. 평가 구성과 비중
| 구분 | 팀원 비중 | 팀장 비중 | 내용 |
| 성과평가 | 70% | 60% | 연초에 설정한 목표 3~5개의 달성도 (목표별 가중치 합계 100%) |
| 역량평가 | 30% | 20% | 공통역량 4개(고객 지향, 협업, 책임감, 학습 민첩성)와 직무역량 |
| 리더십평가 | - | 20% | 팀원 상향 평가 결과를 반영 |
| 다면 피드백 | 참고 | 참고 | 동료 3~5명의 서술형 피드백, 점수에는 반영하지 않음 |
교육 이수 시간(연 40시간 목표)과 법정의무교육 이수 여부는 역량평가의 참고 자료로 활용한다.
## 4. 연간 평가 일정
| 단계 | 기간 | 주관 | 내용 |
| 목표 설정 | 1월 2일 ~ 1월 31일 | 본인, 팀장 | 그룹웨어 평가 메뉴에 목표 등록 및 합의 |
| 중간 점검 | 7월 1일 ~ 7월 15일 | 팀장 | 목표 진척 확인, 필요 시 목표 수정 |
| 자기평가 | 12월 1일 ~ 12월 10일 | 본인 | 목표별 실적과 자기평가 의견 작성 |
| 1차 평가 | 12월 11일 ~ 12월 20일 | 팀장 | 성과·역량 점수 부여 |
| 2차 평가 | 12월 21일 ~ 12월 31일 | 본부장 | 본부 내 등급 조정 |
| 평가조정위원회 | 다음 해 1월 둘째 주 | 대표이사, 본부장 | 본부 간 등급 분포와 형평성 검토 |
| 결과 통보 | 다음 해 1월 셋째 주 | 인사팀 | 그룹웨어로 개인별 등급 통보 |
| 성과급 지급 | 다음 해 3월 급여일 | 재무회계팀 | 등급별 지급률 적용 |
## 5. 평가 등급과 분포
| 등급 | 의미 | 분포 기준 |
| S | 탁월: 기대 수준을 크게 넘어섬 | 10% 이내 |
| A | 우수: 기대 수준을 넘어섬 | 25% 이내 |
| B | 기대 충족: 기대 수준을 달성함 | 50% 내외 |
| C | 개선 필요: 기대 수준에 다소 못 미침 | C와 D 합계 15% 내외 |
| D | 미흡: 기대 수준에 크게 못 미침 | C와 D 합계 15% 내외 |
팀원이 5명 미만인 팀은 본부 단위로 합쳐서 분포를 적용한다.
## 6. 보상 연계
성과급은 개인별 성과급 기준금액에 아래 지급률을 곱하여 산정한다. 기준금액은 회사 경영 실적에 따라 매년 2월에 확정한다.
| 등급 | 성과급 지급률 | 연봉 인상률 가산 |
| S | 200% | 기본 인상률 + 3%p |
| A | 150% | 기본 인상률 + 1.5%p |
| B | 100% | 기본 인상률 |
| C | 50% | 기본 인상률 - 1%p |
| D | 0% | 동결 |
## 7. 승진
- 정기 승진 심사는 매년 2월에 인사위원회에서 하며, 승진 발령일은 3월 1일이다.
- 승진 후보자가 되려면 아래의 최소 체류 연한을 채우고, 직전 2년 평가에서 A 이상을 1회 이상 받고 D를 받은 적이 없어야 한다.
| 승진 단계 | 최소 체류 연한 |
| 사원 → 선임 | 3년 |
| 선임 → 책임 | 4년 |
| 책임 → 수석 | 5년 |
- 2년 연속 S 등급을 받은 직원은 최소 체류 연한을 1년 단축하여 조기 승진 심사를 받을 수 있다.
## 8. 피드백 면담
- 팀장은 결과 통보 후 2주 이내에 팀원 전원과 30분 이상 피드백 면담을 하고, 면담 결과를 그룹웨어에 기록한다.
- C 또는 D 등급을 받은 직원과의 면담에는 다음 연도 개선 계획을 포함한다.
## 9. 이의신청
- 평가 결과에 이의가 있는 직원은 결과를 통보받은 날부터 7일 이내에 그룹웨어 평가 메뉴에서 이의신청을 한다.
- 인사팀은 신청 내용을 평가조정위원회에 올려 재검토하며, 신청일로부터 14일 이내에 결과를 회신한다.
- 이의신청은 평가 연도마다 1회만 할 수 있으며, 이의신청을 이유로 불이익을 주지 않는다.
## 10. 성과 향상 프로그램(PIP)
- 2년 연속 D 등급을 받은 직원은 3개월간 성과 향상 프로그램에 참여한다.
- 프로그램 기간에는 팀장과 격주 면담을 하며, 인사팀이 직무 교육과 코칭을 지원한다.
## 11. 문의
평가 제도 및 이의신청: 인사팀 평가·보상 담당 (내선 2311)
"""

# ---------------------------------------------------------------------------
# Product deck (PPTX)
# ---------------------------------------------------------------------------

DECK: list[dict[str, Any]] = [
    {
        "title": "한빛 DocuFlow 4.2",
        "subtitle": "흩어진 문서를 한곳에, AI로 찾고 자동으로 결재합니다\n한빛솔루션 주식회사 영업본부 · 2025년 3월",
        "notes": "인사말 후 오늘 순서를 안내합니다. 회사 소개, 고객의 문제, 주요 기능, 4.2 신규 기능, "
        "요금제, 도입 사례, 도입 절차 순서로 약 20분 발표합니다. 데모는 발표 후 별도 진행합니다.",
    },
    {
        "title": "한빛솔루션 소개",
        "bullets": [
            "2009년 4월 설립, 임직원 300명 (2025년 3월 기준)",
            "서울 성동구 본사, 판교 R&D센터 (연구개발 인력 145명)",
            "DocuFlow 누적 도입 고객사 120여 곳: 공공기관 35곳, 민간기업 85곳",
            "GS인증 1등급 획득 (DocuFlow 4.0, 2023년)",
            "클라우드 보안인증(CSAP) SaaS 표준등급 획득 (2024년 11월)",
        ],
        "notes": "연구개발 인력 비중이 절반에 가깝다는 점을 강조합니다. 공공 고객은 CSAP 인증 여부를 "
        "가장 먼저 묻기 때문에 인증 획득 시점을 꼭 언급합니다.",
    },
    {
        "title": "고객이 겪는 문제",
        "bullets": [
            "문서가 부서별 파일서버, 메일, 개인 PC에 흩어져 있음",
            "필요한 문서를 찾는 데 직원 1인당 하루 평균 1.8시간 소요 (2024년 고객사 12곳, 420명 자체 조사)",
            "종이·수기 결재와 결재선 혼선으로 처리 지연",
            "HWP, PDF, 오피스 등 포맷이 제각각이라 통합 검색이 어려움",
            "문서 보안·보존 규정을 지키기 위한 관리 부담",
        ],
        "notes": "1.8시간 수치는 당사 조사 결과임을 밝힙니다. 고객사 규모에 따라 수치 차이가 크다는 질문이 "
        "나오면 업종별 부록 자료를 안내합니다.",
    },
    {
        "title": "주요 기능",
        "bullets": [
            "전자결재 워크플로: 드래그 앤 드롭 결재선 설계, 모바일 결재, 병렬·조건부 결재",
            "문서 중앙 저장소: 버전 관리, 부서·등급별 접근 권한, 보존기한 자동 관리",
            "AI 문서 검색: 한국어 형태소 분석과 의미 검색을 결합한 하이브리드 검색, 출처를 표시하는 답변",
            "자동 분류: 문서 유형과 보안등급 자동 추천",
            "포맷 지원: HWP·HWPX, PDF, 오피스 등 50여 종 미리보기와 본문 검색",
            "보안 연동: DRM, 워터마크, 감사 로그",
        ],
        "notes": "AI 검색은 답변마다 근거 문서와 위치를 보여 준다는 점이 핵심 차별점입니다. "
        "HWP 본문 검색은 공공 고객에게 반드시 시연합니다.",
    },
    {
        "title": "DocuFlow 4.2 신규 기능 (2025년 2월 출시)",
        "bullets": [
            "AI 요약: 문서 1건을 10초 이내에 요약, 결재 요청 시 요약본 자동 첨부",
            "결재 문서 초안 자동 작성: 기존 양식과 과거 문서를 참고해 초안 생성",
            "감사 로그 대시보드: 열람·다운로드 이력 시각화",
            "SSO 지원 확대: SAML 2.0, OpenID Connect",
            "검색 응답 속도 4.1 버전 대비 40% 향상",
        ],
        "notes": "4.1 고객은 무상 업그레이드 대상입니다(유지보수 계약 고객). 온프레미스 고객은 "
        "업그레이드 일정을 기술지원팀과 협의하도록 안내합니다.",
    },
    {
        "title": "도입 방식 및 요금",
        "table": [
            ["구분", "Standard", "Professional", "Enterprise"],
            ["제공 방식", "SaaS", "SaaS", "SaaS · 온프레미스 · 프라이빗 클라우드"],
            ["월 요금 (사용자당)", "9,000원", "15,000원", "별도 협의"],
            ["저장 용량", "사용자당 20GB", "사용자당 100GB", "고객 인프라 기준"],
            ["AI 문서 검색", "기본 검색", "요약 · 질의응답", "요약 · 질의응답 · 전용 모델"],
            ["기술지원", "평일 09:00~18:00", "평일 09:00~18:00 + 전담 매니저", "24시간 365일"],
        ],
        "footer": "최소 계약 50 사용자 · 연 단위 선납 계약 시 10% 할인 · VAT 별도",
        "notes": "요금 질문이 나오면 최소 50 사용자 조건과 연 선납 10% 할인을 함께 안내합니다. "
        "Enterprise는 사용자 수와 구축 범위에 따라 견적을 별도로 드린다고 설명합니다.",
    },
    {
        "title": "도입 사례",
        "bullets": [
            "가람시청 (공공, 임직원 1,200명): 결재 평균 처리 기간 3.2일 → 1.1일",
            "새봄에너지 주식회사 (제조, 임직원 2,500명): 문서 검색 시간 62% 단축",
            "다온건설 주식회사 (건설, 현장 40곳): 현장 문서 모바일 결재로 종이 출력 70% 감소",
        ],
        "notes": "사례 고객사 이름은 고객 동의를 받은 범위에서만 외부 발표에 사용합니다. "
        "수치는 각 고객사의 도입 6개월 후 측정값입니다.",
    },
    {
        "title": "도입 절차 및 문의",
        "bullets": [
            "1단계 요구사항 분석: 2주",
            "2단계 PoC (개념 검증): 4주, 무료 제공",
            "3단계 구축 및 문서 이관: SaaS 4주, 온프레미스 8~12주",
            "4단계 사용자 교육 및 오픈: 관리자 교육 1일, 사용자 교육 영상 제공",
            "문의: 영업본부 기업영업팀 (내선 2420) · 공공영업팀 (내선 2410) · sales@hanbitsol.example",
        ],
        "notes": "마무리로 무료 PoC를 제안합니다. 공공기관은 공공영업팀, 민간기업은 기업영업팀으로 "
        "연결하고, 파트너사 경유 문의는 파트너영업팀(내선 2430)으로 안내합니다.",
    },
]

# ---------------------------------------------------------------------------
# Organisation chart (XLSX)
# ---------------------------------------------------------------------------

ORG_HEADER = ["본부/실", "팀", "팀장", "인원", "근무지", "층", "내선번호", "주요 업무"]
ORG_ROWS: list[list[Any]] = [
    ["대표이사실", "비서실", "-", 2, "서울 본사", "7층", "2700", "대표이사 일정, 이사회 운영 지원"],
    [
        "전략기획실",
        "전략기획팀",
        "서동현",
        8,
        "서울 본사",
        "7층",
        "2710",
        "중장기 전략, 투자 검토, 경영 실적 분석",
    ],
    [
        "경영지원본부",
        "인사팀",
        "김나래",
        9,
        "서울 본사",
        "3층",
        "2310",
        "채용, 평가·보상, 교육, 복리후생, 고충 상담",
    ],
    [
        "경영지원본부",
        "총무팀",
        "박상우",
        8,
        "서울 본사",
        "3층",
        "2320",
        "시설, 회의실, 업무용 차량, 안전보건 (판교 총무 담당 내선 3320)",
    ],
    [
        "경영지원본부",
        "재무회계팀",
        "윤혜원",
        10,
        "서울 본사",
        "6층",
        "2610",
        "회계, 세무, 자금, 법인카드, 경비 정산",
    ],
    ["경영지원본부", "법무팀", "조민석", 4, "서울 본사", "6층", "2620", "계약 검토, 지식재산, 컴플라이언스"],
    [
        "연구개발본부",
        "R&D기획팀",
        "김현우",
        6,
        "판교 R&D센터",
        "10층",
        "3100",
        "연구개발 과제 관리, 기술 로드맵",
    ],
    [
        "연구개발본부",
        "플랫폼개발팀",
        "이재훈",
        42,
        "판교 R&D센터",
        "9층",
        "3110",
        "DocuFlow 백엔드, 전자결재 엔진",
    ],
    ["연구개발본부", "문서엔진팀", "정다은", 35, "판교 R&D센터", "9층", "3120", "문서 변환·뷰어, HWP 파서"],
    ["연구개발본부", "AI연구팀", "신우진", 28, "판교 R&D센터", "10층", "3130", "검색·요약 모델, 자동 분류"],
    ["연구개발본부", "QA팀", "남궁혜린", 18, "판교 R&D센터", "10층", "3140", "테스트 자동화, 품질 인증 대응"],
    ["연구개발본부", "클라우드운영팀", "류성민", 16, "판교 R&D센터", "9층", "3150", "SaaS 운영, 24시간 관제"],
    [
        "제품사업본부",
        "제품기획팀",
        "배소연",
        12,
        "서울 본사",
        "5층",
        "2510",
        "제품 로드맵, 요구사항 관리, 제품 교육",
    ],
    ["제품사업본부", "UX디자인팀", "홍지우", 10, "서울 본사", "5층", "2520", "UI/UX 설계, 디자인 시스템"],
    [
        "제품사업본부",
        "기술지원팀",
        "권태양",
        20,
        "서울 본사",
        "5층",
        "2530",
        "고객 기술지원, 구축, 장애 대응",
    ],
    ["영업본부", "공공영업팀", "임수현", 14, "서울 본사", "4층", "2410", "공공기관 영업, 조달"],
    ["영업본부", "기업영업팀", "송준호", 16, "서울 본사", "4층", "2420", "민간기업 영업"],
    ["영업본부", "파트너영업팀", "노하은", 8, "서울 본사", "4층", "2430", "총판·리셀러 관리"],
    ["영업본부", "마케팅팀", "양서진", 9, "서울 본사", "4층", "2440", "브랜드, 세미나, 홈페이지"],
    [
        "정보보호실",
        "정보보안팀",
        "고은비",
        7,
        "서울 본사",
        "5층",
        "2550",
        "보안 정책, 보안사고 대응, 개인정보보호 실무",
    ],
    [
        "정보보호실",
        "IT인프라팀",
        "황준석",
        11,
        "서울 본사",
        "5층",
        "2560",
        "사내 IT 인프라, IT 헬프데스크 (내선 2580, 판교 3580)",
    ],
]
EXEC_HEADER = ["직위", "성명", "담당", "근무지", "내선번호"]
EXEC_ROWS = [
    ["대표이사", "정태원", "경영 총괄", "서울 본사 7층", "2701"],
    ["전무 (CTO)", "박준영", "연구개발본부장", "판교 R&D센터 10층", "3101"],
    ["상무", "이수진", "경영지원본부장, 안전보건관리책임자", "서울 본사 6층", "2601"],
    ["상무", "문가영", "제품사업본부장", "서울 본사 5층", "2501"],
    ["상무", "장민혁", "영업본부장", "서울 본사 4층", "2401"],
    ["이사", "한지민", "전략기획실장", "서울 본사 7층", "2711"],
    ["이사", "최민호", "정보보호실장 (CISO, 개인정보보호책임자)", "서울 본사 5층", "2551"],
]
COMMITTEE_HEADER = ["위원회", "위원장", "간사 부서", "구성", "정기 개최", "근거 규정"]
COMMITTEE_ROWS = [
    [
        "인사위원회",
        "경영지원본부장 이수진 상무",
        "인사팀",
        "위원장 포함 5명 (인사팀장, 법무팀장, 해당 본부장, 근로자 대표 추천 1명)",
        "수시 (징계), 매년 2월 (승진 심사)",
        "취업규칙 제49조",
    ],
    [
        "평가조정위원회",
        "대표이사 정태원",
        "인사팀",
        "본부장·실장 전원",
        "매년 1월 둘째 주, 이의신청 발생 시",
        "인사평가 제도 안내",
    ],
    [
        "산업안전보건위원회",
        "위원 중 호선 (2025년: 총무팀장 박상우)",
        "총무팀",
        "근로자위원 5명, 사용자위원 5명",
        "분기 1회 (1·4·7·10월 셋째 주)",
        "안전보건 관리 규정 제6조",
    ],
    [
        "개인정보보호위원회",
        "개인정보보호책임자 최민호 이사",
        "정보보안팀",
        "분임 개인정보보호책임자 (인사팀장, 기술지원팀장, 마케팅팀장), 법무팀장",
        "반기 1회",
        "개인정보 내부 관리계획 제6조",
    ],
    [
        "정보보호위원회",
        "대표이사 정태원",
        "정보보안팀",
        "본부장·실장 전원, CISO",
        "반기 1회 (6월, 12월)",
        "정보보안 지침",
    ],
    [
        "노사협의회",
        "공동의장 (대표이사, 근로자위원 대표)",
        "인사팀",
        "근로자위원 5명, 사용자위원 5명",
        "분기 1회 (3·6·9·12월)",
        "근로자참여법",
    ],
]

# ---------------------------------------------------------------------------
# CP949 text file
# ---------------------------------------------------------------------------

VEHICLE_REG = """\
업무용 차량 운행 규정

제정: 2017년 3월 1일
개정: 2021년 9월 1일, 2024년 7월 1일
시행일: 2024년 7월 1일
주관부서: 경영지원본부 총무팀 (내선 2320)


제1조(목적)
이 규정은 회사가 보유하거나 임차한 업무용 차량의 예약, 운행, 관리 및 사고 처리에 관한 사항을 정함을 목적으로 한다.

제2조(적용 범위)
이 규정은 업무용 차량을 운전하거나 이용하는 모든 임직원에게 적용한다.

제3조(보유 차량)
회사의 업무용 차량은 다음과 같다.

  구분       차종                  배치         주 용도
  --------   -------------------   ----------   ------------------------
  업무 1호   승용 전기차 (5인승)   서울 본사    고객사 방문, 관공서 업무
  업무 2호   승합차 (9인승)        서울 본사    행사 물품 운반, 단체 이동
  업무 3호   승용 하이브리드       판교 센터    고객사 구축·장애 대응
  업무 4호   승용 전기차 (5인승)   판교 센터    고객사 구축·장애 대응

제4조(운전 자격)
① 업무용 차량은 다음 각 호의 요건을 모두 갖추고 총무팀에 운전자로 등록한 임직원만 운전할 수 있다.
  1. 운전면허를 취득한 지 1년 이상 지났을 것
  2. 최근 1년 이내에 운전면허 정지 또는 취소 처분을 받은 사실이 없을 것
  3. 만 26세 이상일 것 (자동차보험 운전자 연령 한정 특약)
② 운전자 등록은 그룹웨어에 운전면허증 사본을 첨부하여 신청하며, 등록 유효기간은 2년이다.

제5조(예약)
① 차량은 그룹웨어 자원예약 메뉴에서 사용일 2일 전까지 예약한다. 당일 긴급 사용은 총무팀의 승인을 받아야 한다.
② 1회 예약 기간은 최대 3일로 한다.
③ 편도 200킬로미터 이상 장거리 운행은 팀장의 승인을 받아야 한다.

제6조(사용 제한)
① 업무용 차량은 출퇴근, 개인 용무에 사용할 수 없다.
② 토요일, 일요일, 공휴일에는 사용할 수 없다. 다만, 고객사 장애 대응 등 불가피한 경우 총무팀장의 승인을 받아 사용할 수 있다.
③ 음주 운전, 운전 중 휴대폰 사용 등 법령 위반 행위는 금지하며, 음주 운전이 확인되면 취업규칙에 따라 징계한다.
④ 등록된 운전자가 아닌 사람(외부인 포함)에게 운전을 맡길 수 없다.

제7조(수령 및 반납)
① 차량 스마트키는 서울 본사 3층 총무팀 키 보관함, 판교 R&D센터 10층 안내데스크에서 수령하고 반납한다.
② 반납 시에는 다음을 지킨다.
  1. 주행거리와 운행 목적을 그룹웨어 운행일지에 당일 기록할 것
  2. 내연기관·하이브리드 차량은 연료를 4분의 1 이상, 전기차는 충전량을 30퍼센트 이상 남길 것
  3. 차량 내부의 쓰레기와 개인 물품을 정리할 것
③ 차량에 이상이 있으면 반납할 때 총무팀에 알린다.

제8조(주유 및 충전)
① 주유와 충전은 차량에 비치된 회사 주유카드 또는 충전카드로 결제한다.
② 부득이하게 개인 카드로 결제한 경우에는 경비 시스템에서 개인 경비로 청구한다.

제9조(통행료와 주차비)
모든 업무용 차량에는 하이패스 단말기가 설치되어 있으며, 통행료는 회사로 청구된다. 주차비는 영수증을 첨부하여 실비로 정산한다.

제10조(교통법규 위반)
① 운행 중 교통법규 위반으로 부과된 과태료와 범칙금은 운전자 본인이 부담한다.
② 총무팀은 고지서를 받은 날부터 3일 이내에 운전자에게 통보하며, 운전자는 통보를 받은 날부터 14일 이내에 납부하고 납부 확인서를 제출한다.

제11조(사고 처리)
① 운행 중 사고가 발생하면 운전자는 인명 구호와 안전 확보를 우선하고, 보험사와 총무팀(내선 2320)에 즉시 알린다.
② 운전자는 사고 발생일로부터 3일 이내에 사고 경위서를 제출한다.
③ 음주, 무면허, 중앙선 침범 등 운전자의 중대한 과실로 발생한 사고의 경우 보험 자기부담금은 운전자가 부담한다.

제12조(개인 차량의 업무 사용)
회사의 승인을 받아 개인 차량을 업무에 사용하는 경우의 비용은 출장 및 경비 규정에 따라 주행거리 1킬로미터당 250원과 통행료, 주차비 실비를 지급한다.

제13조(차량 관리)
① 총무팀은 매월 첫째 주에 차량의 타이어, 소모품, 청결 상태를 점검하고 점검표를 기록한다.
② 정기 점검과 보험 갱신 일정은 총무팀이 관리한다.


부칙
제1조(시행일) 이 규정은 2024년 7월 1일부터 시행한다.
"""


# ---------------------------------------------------------------------------
# Markup parsing
# ---------------------------------------------------------------------------


@dataclass
class Item:
    """One markup element: ``kind`` is title, h1, h2, bullet, para, note or table."""

    kind: str
    text: str = ""
    rows: list[list[str]] = field(default_factory=list)


def parse_markup(src: str) -> list[Item]:
    """Turn the tiny markup into a list of items (consecutive ``|`` lines form one table)."""
    items: list[Item] = []
    table: Item | None = None
    prefixes = (("### ", "h2"), ("## ", "h1"), ("# ", "title"), ("- ", "bullet"), ("> ", "note"))
    for raw in src.strip().splitlines():
        line = raw.rstrip()
        if line.startswith("|"):
            if table is None:
                table = Item("table")
                items.append(table)
            table.rows.append([c.strip() for c in line.strip().strip("|").split("|")])
            continue
        table = None
        if not line.strip():
            continue
        for prefix, kind in prefixes:
            if line.startswith(prefix):
                items.append(Item(kind, line[len(prefix) :].strip()))
                break
        else:
            items.append(Item("para", line.strip()))
    return items


def _title_of(items: list[Item]) -> str:
    for item in items:
        if item.kind == "title":
            return item.text
    raise ValueError("document has no title line")


# ---------------------------------------------------------------------------
# PDF
# ---------------------------------------------------------------------------


def find_font(bold: bool = False) -> str:
    env = os.environ.get("JIKJI_KO_FONT_BOLD" if bold else "JIKJI_KO_FONT")
    if env:
        return env
    for cand in FONT_CANDIDATES:
        path = cand.replace("NanumGothic.ttf", "NanumGothicBold.ttf") if bold else cand
        if Path(path).is_file():
            return path
    sys.exit("Korean font not found: install fonts-nanum or set JIKJI_KO_FONT / JIKJI_KO_FONT_BOLD")


def write_pdf(src: str, out: Path, subject: str) -> None:
    items = parse_markup(src)
    title = _title_of(items)

    class Doc(FPDF):
        def footer(self) -> None:  # page number at the bottom centre
            self.set_y(-14)
            self.set_font("Nanum", "", 8)
            self.set_text_color(110, 110, 110)
            self.cell(0, 8, f"{title}  -  {self.page_no()} / {{nb}}", align="C")
            self.set_text_color(0, 0, 0)

    pdf = Doc(format="A4")
    pdf.set_creation_date(FIXED_DT)
    pdf.set_title(title)
    pdf.set_author(AUTHOR)
    pdf.set_subject(subject)
    pdf.set_creator("tools/make_samples.py")
    pdf.set_producer("fpdf2")
    pdf.set_lang("ko-KR")
    pdf.add_font("Nanum", "", find_font())
    pdf.add_font("Nanum", "B", find_font(bold=True))
    pdf.set_margins(20, 18, 20)
    pdf.set_auto_page_break(True, margin=20)
    pdf.alias_nb_pages()
    pdf.add_page()
    width = pdf.w - pdf.l_margin - pdf.r_margin

    def line(h: float, text: str, w: float = width, align: str = "L", fill: bool = False) -> None:
        pdf.multi_cell(w, h, text, align=align, fill=fill, new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    for item in items:
        if item.kind == "title":
            pdf.start_section(item.text, level=0)
            pdf.set_font("Nanum", "B", 18)
            line(10, item.text, align="C")
            pdf.ln(4)
        elif item.kind == "h1":
            if pdf.get_y() > pdf.h - 60:
                pdf.add_page()
            pdf.ln(3)
            pdf.start_section(item.text, level=1)
            pdf.set_font("Nanum", "B", 13)
            line(8, item.text)
            pdf.set_draw_color(31, 95, 191)
            pdf.line(pdf.l_margin, pdf.get_y(), pdf.l_margin + width, pdf.get_y())
            pdf.ln(2)
        elif item.kind == "h2":
            if pdf.get_y() > pdf.h - 40:
                pdf.add_page()
            pdf.ln(1.5)
            pdf.start_section(item.text, level=2)
            pdf.set_font("Nanum", "B", 10.5)
            line(6.5, item.text)
        elif item.kind == "bullet":
            pdf.set_font("Nanum", "", 10)
            pdf.set_x(pdf.l_margin + 4)
            line(6, "• " + item.text, w=width - 4)
        elif item.kind == "note":
            pdf.set_font("Nanum", "", 9)
            pdf.set_fill_color(255, 248, 225)
            line(5.5, "※ " + item.text, fill=True)
            pdf.ln(1)
        elif item.kind == "para":
            pdf.set_font("Nanum", "", 10)
            line(6, item.text)
        elif item.kind == "table":
            pdf.ln(1)
            pdf.set_font("Nanum", "", 9)
            pdf.set_draw_color(150, 150, 150)
            ncols = len(item.rows[0])
            with pdf.table(
                col_widths=_col_widths(item.rows, ncols),
                line_height=5.5,
                text_align="CENTER" if ncols > 3 else "LEFT",
                headings_style=FontFace(family="Nanum", emphasis="BOLD", fill_color=(230, 238, 250)),
                width=width,
            ) as table:
                for row in item.rows:
                    r = table.row()
                    for cell in row:
                        r.cell(cell)
            pdf.ln(2)
    pdf.output(str(out))


def _col_widths(rows: list[list[str]], ncols: int) -> tuple[float, ...]:
    """Relative column widths from the longest cell per column, clamped."""
    longest = [max(len(r[i]) if i < len(r) else 0 for r in rows) for i in range(ncols)]
    return tuple(min(max(n, 4), 40) for n in longest)


# ---------------------------------------------------------------------------
# DOCX
# ---------------------------------------------------------------------------


def _set_east_asian_font(style: Any, name: str) -> None:
    rpr = style.element.get_or_add_rPr()
    rfonts = rpr.find(qn("w:rFonts"))
    if rfonts is None:
        rfonts = rpr.makeelement(qn("w:rFonts"), {})
        rpr.append(rfonts)
    rfonts.set(qn("w:eastAsia"), name)


def write_docx(src: str, out: Path, subject: str, keywords: str) -> None:

    items = parse_markup(src)
    title = _title_of(items)
    d = docx.Document()
    normal = d.styles["Normal"]
    normal.font.name = "Malgun Gothic"
    normal.font.size = Pt(10)
    _set_east_asian_font(normal, "맑은 고딕")
    for sname in ("Title", "Heading 1", "Heading 2"):
        _set_east_asian_font(d.styles[sname], "맑은 고딕")

    cp = d.core_properties
    cp.title = title
    cp.subject = subject
    cp.author = AUTHOR
    cp.last_modified_by = AUTHOR
    cp.keywords = keywords
    cp.language = "ko-KR"
    cp.created = FIXED_DT_NAIVE
    cp.modified = FIXED_DT_NAIVE
    cp.last_printed = FIXED_DT_NAIVE
    cp.revision = 1

    section = d.sections[0]
    section.header.paragraphs[0].text = f"한빛솔루션 주식회사 · {title}"
    section.header.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.RIGHT

    for item in items:
        if item.kind == "title":
            d.add_heading(item.text, level=0)
        elif item.kind == "h1":
            d.add_heading(item.text, level=1)
        elif item.kind == "h2":
            d.add_heading(item.text, level=2)
        elif item.kind == "bullet":
            d.add_paragraph(item.text, style="List Bullet")
        elif item.kind == "note":
            run = d.add_paragraph().add_run("※ " + item.text)
            run.italic = True
            run.font.color.rgb = RGBColor(0x66, 0x4D, 0x00)
        elif item.kind == "para":
            d.add_paragraph(item.text)
        elif item.kind == "table":
            ncols = len(item.rows[0])
            t = d.add_table(rows=len(item.rows), cols=ncols)
            t.style = "Table Grid"
            for i, row in enumerate(item.rows):
                for j in range(ncols):
                    cell = t.cell(i, j)
                    cell.text = row[j] if j < len(row) else ""
                    if i == 0:
                        for run in cell.paragraphs[0].runs:
                            run.bold = True
            d.add_paragraph()
    d.save(str(out))


# ---------------------------------------------------------------------------
# PPTX
# ---------------------------------------------------------------------------


def write_pptx(out: Path) -> None:

    prs = Presentation()
    prs.slide_width = Emu(12192000)  # 16:9
    prs.slide_height = Emu(6858000)
    title_layout = prs.slide_layouts[0]
    content_layout = prs.slide_layouts[1]
    title_only = prs.slide_layouts[5]

    for i, spec in enumerate(DECK):
        if i == 0:
            slide = prs.slides.add_slide(title_layout)
            slide.shapes.title.text = spec["title"]
            slide.placeholders[1].text = spec["subtitle"]
        elif "table" in spec:
            slide = prs.slides.add_slide(title_only)
            slide.shapes.title.text = spec["title"]
            rows = spec["table"]
            left, top = Emu(600000), Emu(1700000)
            width, height = prs.slide_width - Emu(1200000), Emu(3600000)
            shape = slide.shapes.add_table(len(rows), len(rows[0]), left, top, width, height)
            tbl = shape.table
            for r, row in enumerate(rows):
                for c, text in enumerate(row):
                    cell = tbl.cell(r, c)
                    cell.text = text
                    for para in cell.text_frame.paragraphs:
                        for run in para.runs:
                            run.font.size = Pt(14)
                            run.font.bold = r == 0 or c == 0
            if spec.get("footer"):
                box = slide.shapes.add_textbox(left, top + height + Emu(200000), width, Emu(500000))
                box.text_frame.text = spec["footer"]
                for run in box.text_frame.paragraphs[0].runs:
                    run.font.size = Pt(14)
        else:
            slide = prs.slides.add_slide(content_layout)
            slide.shapes.title.text = spec["title"]
            body = slide.placeholders[1]
            body.left, body.top = Emu(600000), Emu(1500000)
            body.width, body.height = prs.slide_width - Emu(1200000), Emu(4800000)
            tf = body.text_frame
            for k, bullet in enumerate(spec["bullets"]):
                para = tf.paragraphs[0] if k == 0 else tf.add_paragraph()
                para.text = bullet
                for run in para.runs:
                    run.font.size = Pt(18 if len(spec["bullets"]) > 5 else 20)
        slide.notes_slide.notes_text_frame.text = spec["notes"]

    cp = prs.core_properties
    cp.title = "한빛 DocuFlow 4.2 제품 소개서"
    cp.subject = "한빛 DocuFlow 제품 소개 (영업용)"
    cp.author = AUTHOR
    cp.last_modified_by = AUTHOR
    cp.keywords = "DocuFlow, 전자결재, AI 문서 검색, 요금제"
    cp.language = "ko-KR"
    cp.created = FIXED_DT_NAIVE
    cp.modified = FIXED_DT_NAIVE
    cp.last_printed = FIXED_DT_NAIVE
    cp.revision = 1
    prs.save(str(out))


# ---------------------------------------------------------------------------
# XLSX
# ---------------------------------------------------------------------------


def write_xlsx(out: Path) -> None:

    wb = Workbook()
    head_font = Font(bold=True)
    head_fill = PatternFill("solid", fgColor="DCE6F5")
    thin = Side(style="thin", color="999999")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)

    def fill(ws: Any, header: list[str], rows: list[list[Any]], widths: list[int]) -> None:
        ws.append(header)
        for row in rows:
            ws.append(row)
        for cell in ws[1]:
            cell.font = head_font
            cell.fill = head_fill
        for row in ws.iter_rows():
            for cell in row:
                cell.border = border
                cell.alignment = Alignment(vertical="center", wrap_text=True)
        for col, w in zip("ABCDEFGH", widths, strict=False):
            ws.column_dimensions[col].width = w
        ws.freeze_panes = "A2"

    ws = wb.active
    ws.title = "조직"
    fill(ws, ORG_HEADER, ORG_ROWS, [14, 14, 10, 7, 14, 7, 10, 48])
    team_total = sum(r[3] for r in ORG_ROWS)
    ws.append([])
    ws.append(["합계 (팀 소속)", "", "", team_total, "", "", "", "21개 팀 (비서실 포함)"])
    ws.append(["임원", "", "", len(EXEC_ROWS), "", "", "", "대표이사 포함, '임원' 시트 참고"])
    ws.append(["전체 임직원", "", "", team_total + len(EXEC_ROWS), "", "", "", "2025년 3월 1일 기준"])
    for row in ws.iter_rows(min_row=ws.max_row - 2):
        row[0].font = head_font

    ws2 = wb.create_sheet("위원회")
    fill(ws2, COMMITTEE_HEADER, COMMITTEE_ROWS, [18, 30, 12, 52, 30, 26])

    ws3 = wb.create_sheet("임원")
    fill(ws3, EXEC_HEADER, EXEC_ROWS, [12, 10, 40, 20, 10])

    props = wb.properties
    props.title = "한빛솔루션 조직도 (2025년 3월 1일 기준)"
    props.creator = AUTHOR
    props.lastModifiedBy = AUTHOR
    props.subject = "조직, 팀장, 인원, 내선번호, 위원회"
    props.created = FIXED_DT_NAIVE
    props.modified = FIXED_DT_NAIVE
    wb.save(str(out))


# ---------------------------------------------------------------------------
# Determinism helpers
# ---------------------------------------------------------------------------

_CORE_DATE = re.compile(rb"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:(created|modified)>)")


def normalize_ooxml(path: Path) -> None:
    """Rewrite an OOXML zip with fixed member timestamps and fixed core-property dates."""
    src = zipfile.ZipFile(path)
    buf = io.BytesIO()
    stamp = FIXED_DT.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = _CORE_DATE.sub(lambda m: m.group(1) + stamp + m.group(3), data)
            zi = zipfile.ZipInfo(info.filename, date_time=ZIP_DT)
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o644 << 16
            dst.writestr(zi, data)
    src.close()
    path.write_bytes(buf.getvalue())


# ---------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--out", type=Path, default=REPO / "samples" / "documents", help="output folder (default: samples/)"
    )
    args = ap.parse_args(argv)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    logging.getLogger("fontTools").setLevel(logging.ERROR)  # quiet subsetting notes

    jobs = [
        (
            "출장경비규정.pdf",
            lambda p: write_pdf(TRAVEL_REG, p, "국내·해외 출장 절차, 직급별 일비·식비·숙박비, 정산"),
        ),
        (
            "재택근무규정.pdf",
            lambda p: write_pdf(REMOTE_REG, p, "재택근무 대상, 신청, 근무 방법, 보안, 지원비"),
        ),
        (
            "정보보안지침.docx",
            lambda p: write_docx(
                SECURITY_GUIDE, p, "정보보안 지침", "보안등급, 비밀번호, USB, VPN, 생성형 AI"
            ),
        ),
        (
            "인사평가제도_안내.docx",
            lambda p: write_docx(
                REVIEW_GUIDE, p, "인사평가 제도 안내", "평가 등급, 일정, 성과급, 승진, 이의신청"
            ),
        ),
        ("DocuFlow_제품소개서.pptx", write_pptx),
        ("조직도.xlsx", write_xlsx),
    ]
    for name, fn in jobs:
        path = out / name
        fn(path)
        if path.suffix in {".docx", ".pptx", ".xlsx"}:
            normalize_ooxml(path)
        print(
            f"wrote {path.relative_to(out.parent) if out.parent in path.parents else path} ({path.stat().st_size:,} bytes)"
        )

    vehicle = out / "차량운행규정_cp949.txt"
    vehicle.write_bytes(VEHICLE_REG.replace("\n", "\r\n").encode("cp949"))
    print(f"wrote {vehicle.name} ({vehicle.stat().st_size:,} bytes, CP949, CRLF)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
