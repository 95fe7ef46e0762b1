"""Every message the UI shows, in Korean (the default) and English.

``t(key, lang, **values)`` looks a message up and fills ``{placeholders}``. A unit test checks that
every key has both languages with the same placeholders, and that every key the pages use exists.
"""

from __future__ import annotations

import string
from typing import Any

from ui.korean import PAIRS, particle, with_particle

DEFAULT_LANGUAGE = "ko"
LANGUAGES = ("ko", "en")
LANGUAGE_NAMES = {"ko": "한국어", "en": "English"}

MESSAGES: dict[str, dict[str, str]] = {
    # --- common, navigation, roles, statuses ---
    "common.all": {"ko": "전체", "en": "All"},
    "common.choose": {"ko": "선택하세요", "en": "Choose"},
    "common.empty": {"ko": "아직 없습니다.", "en": "None yet."},
    "common.language": {"ko": "언어", "en": "Language"},
    "common.save": {"ko": "저장", "en": "Save"},
    "common.cancel": {"ko": "취소", "en": "Cancel"},
    "nav.login": {"ko": "로그인", "en": "Sign in"},
    "nav.section.assistant": {"ko": "도우미", "en": "Assistant"},
    "nav.section.admin": {"ko": "관리", "en": "Administration"},
    "nav.chat": {"ko": "질문하기", "en": "Ask"},
    "nav.documents": {"ko": "문서 관리", "en": "Documents"},
    "nav.users": {"ko": "사용자·권한", "en": "Users & access"},
    "nav.dashboard": {"ko": "대시보드", "en": "Dashboard"},
    "nav.eval": {"ko": "검색 품질 평가", "en": "Retrieval evaluation"},
    "forbidden.title": {"ko": "권한이 없습니다", "en": "You do not have access"},
    "forbidden.body": {
        "ko": "이 페이지는 관리자만 열 수 있습니다.",
        "en": "Only administrators can open this page.",
    },
    "forbidden.back": {"ko": "질문하기로 돌아가기", "en": "Back to Ask"},
    "role.admin": {"ko": "관리자", "en": "admin"},
    "role.employee": {"ko": "직원", "en": "employee"},
    "status.queued": {"ko": "대기 중", "en": "Queued"},
    "status.running": {"ko": "처리 중", "en": "Running"},
    "status.succeeded": {"ko": "완료", "en": "Done"},
    "status.failed": {"ko": "실패", "en": "Failed"},
    "status.ready": {"ko": "사용 가능", "en": "Ready"},
    "status.processing": {"ko": "처리 중", "en": "Processing"},
    "stage.starting": {"ko": "시작", "en": "starting"},
    "stage.parsing": {"ko": "문서 읽는 중", "en": "reading"},
    "stage.indexing": {"ko": "색인 준비", "en": "indexing"},
    "stage.embedding": {"ko": "임베딩 계산", "en": "embedding"},
    "stage.done": {"ko": "완료", "en": "done"},
    "stage.added": {"ko": "새로 추가됨", "en": "added"},
    "stage.updated": {"ko": "새 버전으로 갱신됨", "en": "updated"},
    "stage.unchanged": {"ko": "변경 없음", "en": "unchanged"},
    "stage.failed": {"ko": "실패", "en": "failed"},
    "stage.ocr": {"ko": "문자 인식(OCR) {done}/{total}쪽", "en": "OCR page {done} of {total}"},
    # --- login ---
    "login.subtitle": {
        "ko": "사내 문서를 근거로 답하고 출처를 밝히는 지식 도우미입니다.",
        "en": "The knowledge assistant that answers from company documents, with sources.",
    },
    "login.username": {"ko": "사용자 이름", "en": "User name"},
    "login.password": {"ko": "비밀번호", "en": "Password"},
    "login.submit": {"ko": "로그인", "en": "Sign in"},
    "login.missing": {
        "ko": "사용자 이름과 비밀번호를 입력하세요.",
        "en": "Enter your user name and password.",
    },
    "login.help": {
        "ko": "계정이 없으면 관리자에게 요청하세요.",
        "en": "Ask an administrator for an account.",
    },
    "login.first_admin": {
        "ko": "아직 관리자 계정이 없습니다. 이 서버에서 다음 명령으로 첫 관리자 계정을 만드세요: "
        "`jikji users create-admin`",
        "en": "There is no administrator yet. Create the first one on this server with "
        "`jikji users create-admin`.",
    },
    "password.title": {"ko": "비밀번호 바꾸기", "en": "Change your password"},
    "password.required": {
        "ko": "관리자가 정한 비밀번호로 로그인했습니다. 계속하려면 새 비밀번호를 정하세요.",
        "en": "You signed in with a password someone else chose. Choose a new one to continue.",
    },
    "password.current": {"ko": "지금 비밀번호", "en": "Current password"},
    "password.new": {"ko": "새 비밀번호", "en": "New password"},
    "password.submit": {"ko": "바꾸기", "en": "Change"},
    "password.changed": {"ko": "비밀번호를 바꿨습니다.", "en": "Your password is changed."},
    "auth.logout": {"ko": "로그아웃", "en": "Sign out"},
    "auth.logged_out": {"ko": "로그아웃했습니다.", "en": "You are signed out."},
    "auth.expired": {
        "ko": "로그인이 만료되었습니다. 다시 로그인해 주세요.",
        "en": "Your session has expired; please sign in again.",
    },
    # --- chat ---
    "chat.title": {"ko": "{company} 지식 도우미", "en": "{company} knowledge assistant"},
    "chat.welcome": {
        "ko": "사내 규정·안내 문서를 근거로 답하고, 답의 근거가 된 문서를 함께 보여 드립니다.",
        "en": "Answers come from company documents, and the documents behind them are shown with each "
        "answer.",
    },
    "chat.placeholder": {  # short: a phone's input is about 300 px wide
        "ko": "무엇이든 물어보세요",
        "en": "Ask anything",
    },
    "chat.starters": {"ko": "이런 질문으로 시작해 보세요", "en": "Try one of these"},
    "chat.starter_template": {"ko": "{title}의 주요 내용은?", "en": "What are the main points of {title}?"},
    "chat.no_documents": {
        "ko": "아직 볼 수 있는 문서가 없습니다. 관리자에게 문서 등록을 요청하세요.",
        "en": "There are no documents you can see yet; ask an administrator to add some.",
    },
    "chat.new": {"ko": "새 대화", "en": "New conversation"},
    "chat.search": {"ko": "대화 검색", "en": "Search conversations"},
    "chat.search_placeholder": {"ko": "대화 검색", "en": "Search conversations"},
    "chat.history": {"ko": "대화 기록", "en": "History"},
    "chat.no_history": {"ko": "아직 대화가 없습니다.", "en": "No conversations yet."},
    "chat.no_match": {"ko": "검색 결과가 없습니다.", "en": "No matching conversations."},
    "chat.untitled": {"ko": "제목 없는 대화", "en": "Untitled conversation"},
    "chat.manage": {"ko": "이 대화 관리", "en": "Manage this conversation"},
    "chat.rename": {"ko": "대화 이름", "en": "Conversation name"},
    "chat.rename_empty": {"ko": "이름을 입력하세요.", "en": "Enter a name."},
    "chat.renamed": {"ko": "대화 이름을 바꿨습니다.", "en": "Conversation renamed."},
    "chat.delete_confirm": {"ko": "이 대화를 삭제합니다", "en": "Yes, delete this conversation"},
    "chat.delete": {"ko": "대화 삭제", "en": "Delete conversation"},
    "chat.deleted": {"ko": "대화를 삭제했습니다.", "en": "Conversation deleted."},
    "chat.searching": {"ko": "문서를 찾고 답변을 준비하는 중…", "en": "Searching the documents…"},
    "chat.stop": {"ko": "중지", "en": "Stop"},
    "chat.stopped": {"ko": "답변을 중지했습니다.", "en": "The answer was stopped."},
    "chat.stopped_note": {
        "ko": ":material/stop_circle: 중지된 답변입니다.",
        "en": ":material/stop_circle: This answer was stopped.",
    },
    "chat.not_found": {
        "ko": "문서에서 답을 찾지 못했습니다. 질문을 바꿔 보거나 담당 부서에 문의하세요.",
        "en": "No answer was found in the documents. Try rephrasing, or ask the responsible team.",
    },
    "chat.unsupported_figures": {
        "ko": "출처에 없는 수치: {figures} — 인용한 문서에서 확인되지 않습니다. 원문을 확인하세요.",
        "en": "Figures not in the sources: {figures}, not in the cited documents: check the original.",
    },
    "chat.uncited_sentences": {
        "ko": "출처가 확인되지 않은 문장 {count}개가 있습니다.",
        "en": "{count} sentence(s) of this answer have no supporting source.",
    },
    "chat.answer_error": {
        "ko": "답변 중 오류가 발생했습니다. 다시 생성해 보세요.",
        "en": "The answer failed; try regenerating it.",
    },
    "chat.copy": {"ko": "복사", "en": "Copy"},
    "chat.copied": {"ko": "복사했습니다", "en": "Copied"},
    "chat.day.today": {"ko": "오늘", "en": "Today"},
    "chat.day.yesterday": {"ko": "어제", "en": "Yesterday"},
    "chat.day.week": {"ko": "지난 7일", "en": "Previous 7 days"},
    "chat.day.older": {"ko": "이전", "en": "Older"},
    "chat.copy_help": {
        "ko": "오른쪽 위 복사 아이콘을 누르면 답변이 복사됩니다.",
        "en": "Use the copy icon at the top right to copy the answer.",
    },
    "chat.regenerate": {"ko": "다시 생성", "en": "Regenerate"},
    "chat.comment": {"ko": "의견", "en": "Comment"},
    "chat.comment_label": {
        "ko": "답변에 대한 의견 (선택)",
        "en": "Your comment on this answer (optional)",
    },
    "chat.comment_send": {"ko": "의견 보내기", "en": "Send comment"},
    "chat.feedback_thanks": {"ko": "의견 감사합니다.", "en": "Thank you for the feedback."},
    # --- sources ---
    "sources.title": {"ko": "출처", "en": "Sources"},
    "sources.others": {
        "ko": "참고했지만 인용하지 않은 문서 {count}건",
        "en": "{count} more documents consulted but not cited",
    },
    "sources.open": {"ko": "원문 열기", "en": "Open original"},
    "sources.version": {"ko": "{date} 판", "en": "version of {date}"},
    "sources.evidence": {"ko": "근거 문장", "en": "Evidence"},
    # --- documents ---
    "docs.title": {"ko": "문서 관리", "en": "Documents"},
    "docs.upload": {"ko": "문서 올리기", "en": "Upload documents"},
    "docs.files": {
        "ko": "파일 (여러 개를 끌어다 놓을 수 있습니다)",
        "en": "Files (drag and drop several at once)",
    },
    "docs.files_help": {
        "ko": "PDF, Word, PowerPoint, Excel, 한글(HWP/HWPX), HTML, Markdown, CSV, 텍스트",
        "en": "PDF, Word, PowerPoint, Excel, Hangul (HWP/HWPX), HTML, Markdown, CSV, text",
    },
    "docs.groups": {"ko": "볼 수 있는 그룹", "en": "Groups that may see them"},
    "docs.low_confidence": {
        "ko": "문자 인식(OCR) 신뢰도가 낮은 쪽: {pages}. 더 선명한 스캔으로 바꿔 올려 주세요.",
        "en": "Pages read by OCR with low confidence: {pages}. Replace them with a clearer scan.",
    },
    "docs.public": {"ko": "전체 공개", "en": "Everyone"},
    "docs.public_help": {
        "ko": "로그인한 모든 직원이 볼 수 있습니다.",
        "en": "Every signed-in employee may see them.",
    },
    "docs.admins_only": {
        "ko": "그룹도 전체 공개도 고르지 않으면 관리자만 볼 수 있습니다.",
        "en": "With no group and not public, only admins can see them.",
    },
    "docs.admins_only_short": {"ko": "관리자만", "en": "Admins only"},
    "docs.everyone": {"ko": "전체 공개", "en": "Everyone"},
    "docs.upload_button": {"ko": "올리기", "en": "Upload"},
    "docs.uploaded": {
        "ko": "파일 {count}개를 색인 대기열에 넣었습니다.",
        "en": "{count} file(s) queued for indexing.",
    },
    "docs.duplicate_title": {
        "ko": "이미 올라와 있는 문서와 내용이 같은 파일이 있습니다.",
        "en": "Some files have the same content as a document already there.",
    },
    "docs.duplicate_item": {
        "ko": "{file} → 「{title}」 ({name}, {version}판, 공개 범위: {groups})",
        "en": "{file} → “{title}” ({name}, version {version}, visible to: {groups})",
    },
    "docs.duplicate_help": {
        "ko": "새 버전으로 올리면 그 문서의 다음 판이 되고 공개 범위는 그대로입니다. "
        "나머지 파일은 새 문서로 올라갑니다.",
        "en": "As a new version, each becomes that document's next version with its access unchanged; "
        "the other files become new documents.",
    },
    "docs.duplicate_new_version": {"ko": "새 버전으로 올리기", "en": "Upload as new versions"},
    "docs.duplicate_cancelled": {"ko": "올리기를 취소했습니다.", "en": "Upload cancelled."},
    "docs.jobs": {"ko": "최근 색인 작업", "en": "Recent indexing jobs"},
    "docs.upload_progress": {"ko": "올린 파일 처리 상황", "en": "Your upload"},
    "docs.no_jobs": {"ko": "아직 작업이 없습니다.", "en": "No jobs yet."},
    "docs.list": {"ko": "문서 목록", "en": "All documents"},
    "docs.search": {"ko": "검색", "en": "Search"},
    "docs.search_hint": {"ko": "제목 또는 파일 이름", "en": "Title or file name"},
    "docs.group": {"ko": "그룹", "en": "Group"},
    "docs.format": {"ko": "형식", "en": "Format"},
    "docs.status": {"ko": "상태", "en": "Status"},
    "docs.count": {"ko": "문서 {count}개", "en": "{count} documents"},
    "docs.none": {"ko": "조건에 맞는 문서가 없습니다.", "en": "No documents match."},
    "docs.col.title": {"ko": "제목", "en": "Title"},
    "docs.col.file": {"ko": "파일", "en": "File"},
    "docs.col.format": {"ko": "형식", "en": "Type"},
    "docs.col.version": {"ko": "버전", "en": "Version"},
    "docs.col.chunks": {"ko": "청크", "en": "Chunks"},
    "docs.col.groups": {"ko": "공개 범위", "en": "Visible to"},
    "docs.col.uploader": {"ko": "올린 사람", "en": "Uploaded by"},
    "docs.col.created": {"ko": "등록일", "en": "Created"},
    "docs.col.updated": {"ko": "수정일", "en": "Updated"},
    "docs.col.status": {"ko": "상태", "en": "Status"},
    "docs.col.progress": {"ko": "진행률", "en": "Progress"},
    "docs.col.stage": {"ko": "단계", "en": "Stage"},
    "docs.col.error": {"ko": "오류", "en": "Error"},
    "docs.manage": {"ko": "문서 관리", "en": "Manage a document"},
    "docs.choose": {"ko": "문서 선택", "en": "Document"},
    "docs.save_groups": {"ko": "공개 범위 저장", "en": "Save access"},
    "docs.groups_saved": {"ko": "공개 범위를 바꿨습니다.", "en": "Access changed."},
    "docs.reingest": {"ko": "다시 색인", "en": "Re-index"},
    "docs.reingest_queued": {"ko": "다시 색인하도록 대기열에 넣었습니다.", "en": "Queued for re-indexing."},
    "docs.delete_confirm": {
        "ko": "이 문서를 원본·색인과 함께 삭제합니다",
        "en": "Yes, delete this document with its original and index entries",
    },
    "docs.delete": {"ko": "문서 삭제", "en": "Delete document"},
    "docs.deleted": {"ko": "문서를 삭제했습니다.", "en": "Document deleted."},
    "docs.select_hint": {
        "ko": "표에서 문서를 하나 이상 선택하면 이름 바꾸기, 공개 범위, 다시 색인, 삭제를 할 수 있습니다.",
        "en": "Select one or more documents in the table to rename, share, re-index or delete them.",
    },
    "docs.manage_one": {"ko": "「{title}」 관리", "en": "Manage “{title}”"},
    "docs.manage_many": {"ko": "선택한 문서 {count}개", "en": "{count} selected documents"},
    "docs.rename": {"ko": "제목 바꾸기", "en": "Rename"},
    "docs.renamed": {"ko": "제목을 「{title}」{title:~으로} 바꿨습니다.", "en": "Renamed to “{title}”."},
    "docs.delete_question": {
        "ko": "「{title}」 문서를 원본·색인과 함께 삭제할까요? 되돌릴 수 없습니다.",
        "en": "Delete “{title}” with its original and index entries? This cannot be undone.",
    },
    "docs.delete_confirm_button": {"ko": "삭제합니다", "en": "Yes, delete"},
    "docs.bulk_save_groups": {"ko": "선택한 문서의 공개 범위 저장", "en": "Save access for the selection"},
    "docs.bulk_groups_saved": {
        "ko": "문서 {count}개의 공개 범위를 바꿨습니다.",
        "en": "Access changed for {count} documents.",
    },
    "docs.bulk_reingest": {"ko": "선택한 문서 다시 색인", "en": "Re-index the selection"},
    "docs.bulk_reingest_queued": {
        "ko": "문서 {count}개를 다시 색인하도록 대기열에 넣었습니다.",
        "en": "{count} documents queued for re-indexing.",
    },
    "docs.bulk_delete": {"ko": "선택한 문서 {count}개 삭제", "en": "Delete {count} documents"},
    "docs.bulk_delete_question": {
        "ko": "문서 {count}개({titles})를 원본·색인과 함께 삭제할까요? 되돌릴 수 없습니다.",
        "en": "Delete {count} documents ({titles}) with their originals and index entries? "
        "This cannot be undone.",
    },
    "docs.bulk_deleted": {"ko": "문서 {count}개를 삭제했습니다.", "en": "{count} documents deleted."},
    # --- users, groups, keys, dictionary ---
    "users.title": {"ko": "사용자·권한", "en": "Users & access"},
    "users.tab.users": {"ko": "사용자", "en": "Users"},
    "users.tab.groups": {"ko": "그룹", "en": "Groups"},
    "users.tab.keys": {"ko": "API 키", "en": "API keys"},
    "users.tab.dictionary": {"ko": "회사 사전", "en": "Company dictionary"},
    "users.col.username": {"ko": "사용자 이름", "en": "User name"},
    "users.col.name": {"ko": "표시 이름", "en": "Display name"},
    "users.col.role": {"ko": "역할", "en": "Role"},
    "users.col.active": {"ko": "활성", "en": "Active"},
    "users.col.groups": {"ko": "그룹", "en": "Groups"},
    "users.col.created": {"ko": "만든 날", "en": "Created"},
    "users.new": {"ko": "새 사용자", "en": "New user"},
    "users.password": {"ko": "비밀번호", "en": "Password"},
    "users.password_help": {"ko": "10자 이상", "en": "At least 10 characters"},
    "users.create": {"ko": "사용자 만들기", "en": "Create user"},
    "users.created": {"ko": "사용자 {name:을} 만들었습니다.", "en": "User {name} created."},
    "users.edit": {"ko": "사용자 수정", "en": "Edit a user"},
    "users.choose": {"ko": "사용자 선택", "en": "User"},
    "users.new_password": {
        "ko": "새 비밀번호 (바꿀 때만)",
        "en": "New password (only to change it)",
    },
    "users.updated": {"ko": "사용자 {name:을} 수정했습니다.", "en": "User {name} updated."},
    "groups.col.name": {"ko": "그룹 이름", "en": "Group name"},
    "groups.col.description": {"ko": "설명", "en": "Description"},
    "groups.col.members": {"ko": "인원", "en": "Members"},
    "groups.new": {"ko": "새 그룹", "en": "New group"},
    "groups.create": {"ko": "그룹 만들기", "en": "Create group"},
    "groups.created": {"ko": "그룹 {name:을} 만들었습니다.", "en": "Group {name} created."},
    "groups.edit": {"ko": "그룹 수정·삭제", "en": "Edit or delete a group"},
    "groups.choose": {"ko": "그룹 선택", "en": "Group"},
    "groups.updated": {"ko": "그룹 {name:을} 수정했습니다.", "en": "Group {name} updated."},
    "groups.delete_confirm": {"ko": "이 그룹을 삭제합니다", "en": "Yes, delete this group"},
    "groups.delete": {"ko": "그룹 삭제", "en": "Delete group"},
    "groups.deleted": {"ko": "그룹 {name:을} 삭제했습니다.", "en": "Group {name} deleted."},
    "keys.col.name": {"ko": "이름", "en": "Name"},
    "keys.col.prefix": {"ko": "키 앞부분", "en": "Prefix"},
    "keys.col.owner": {"ko": "소유자", "en": "Owner"},
    "keys.col.scopes": {"ko": "권한 범위", "en": "Scopes"},
    "keys.col.groups": {"ko": "그룹 제한", "en": "Group limit"},
    "keys.col.status": {"ko": "상태", "en": "Status"},
    "keys.col.expires": {"ko": "만료", "en": "Expires"},
    "keys.col.last_used": {"ko": "마지막 사용", "en": "Last used"},
    "scope.search": {"ko": "검색", "en": "search"},
    "scope.chat": {"ko": "질문·답변", "en": "chat"},
    "scope.documents_read": {"ko": "문서 읽기", "en": "documents:read"},
    "scope.documents_write": {"ko": "문서 쓰기", "en": "documents:write"},
    "scope.admin": {"ko": "관리", "en": "admin"},
    "keys.all_groups": {"ko": "소유자의 모든 그룹", "en": "All of the owner's groups"},
    "keys.status.active": {"ko": "사용 중", "en": "Active"},
    "keys.status.revoked": {"ko": "폐기됨", "en": "Revoked"},
    "keys.status.expired": {"ko": "만료됨", "en": "Expired"},
    "keys.new": {"ko": "새 API 키", "en": "New API key"},
    "keys.name_hint": {"ko": "예: 그룹웨어 연동", "en": "e.g. groupware integration"},
    "keys.groups_help": {
        "ko": "비워 두면 소유자의 모든 그룹 문서를 볼 수 있습니다.",
        "en": "Leave empty for all of the owner's groups.",
    },
    "keys.create": {"ko": "키 만들기", "en": "Create key"},
    "keys.created": {"ko": "API 키 {name:을} 만들었습니다.", "en": "API key {name} created."},
    "keys.secret_once": {
        "ko": "이 비밀 값은 지금 한 번만 표시됩니다. 지금 복사해 안전한 곳에 보관하세요.",
        "en": "This secret is shown only now. Copy it and keep it somewhere safe.",
    },
    "keys.secret_done": {"ko": "복사했습니다", "en": "I have copied it"},
    "keys.revoke": {"ko": "키 폐기", "en": "Revoke a key"},
    "keys.choose": {"ko": "키 선택", "en": "Key"},
    "keys.revoke_button": {"ko": "폐기", "en": "Revoke"},
    "keys.revoke_question": {
        "ko": "API 키 {name:을} 폐기할까요? 이 키를 쓰는 연동은 곧바로 멈춥니다.",
        "en": "Revoke the API key {name}? Integrations using it stop at once.",
    },
    "keys.revoke_confirm": {"ko": "폐기합니다", "en": "Yes, revoke it"},
    "keys.revoked": {"ko": "API 키 {name:을} 폐기했습니다.", "en": "API key {name} revoked."},
    "dictionary.help": {
        "ko": "회사 고유 용어(제품명, 부서명 등)를 등록하면 "
        "형태소 분석과 검색이 그 용어를 한 단어로 다룹니다.",
        "en": "Company terms (products, departments) added here are kept as one word by the analyser "
        "and search.",
    },
    "dictionary.unavailable": {
        "ko": "이 서버에는 회사 사전 기능이 아직 없습니다.",
        "en": "This server does not offer the company dictionary yet.",
    },
    "dictionary.col.term": {"ko": "용어", "en": "Term"},
    "dictionary.col.tag": {"ko": "품사", "en": "Tag"},
    "dictionary.tag_help": {
        "ko": "NNP: 고유명사, NNG: 일반명사, SL: 외국어",
        "en": "NNP: proper noun, NNG: common noun, SL: foreign word",
    },
    "dictionary.add": {"ko": "용어 추가", "en": "Add term"},
    "dictionary.added": {"ko": "용어 {term:을} 추가했습니다.", "en": "Term {term} added."},
    "dictionary.choose": {"ko": "삭제할 용어", "en": "Term to remove"},
    "dictionary.remove": {"ko": "용어 삭제", "en": "Remove term"},
    "dictionary.remove_question": {
        "ko": "용어 {term:을} 회사 사전에서 삭제할까요?",
        "en": "Remove the term {term} from the company dictionary?",
    },
    "dictionary.remove_confirm": {"ko": "삭제합니다", "en": "Yes, remove it"},
    "dictionary.removed": {"ko": "용어 {term:을} 삭제했습니다.", "en": "Term {term} removed."},
    # --- feedback review and golden items ---
    "fbr.title": {"ko": "피드백 검토", "en": "Feedback review"},
    "fbr.tab.feedback": {"ko": "평가된 답변", "en": "Rated answers"},
    "fbr.tab.golden": {"ko": "골든 항목", "en": "Golden items"},
    "fbr.rating": {"ko": "평가", "en": "Rating"},
    "fbr.rating.all": {"ko": "전체", "en": "All"},
    "fbr.rating.down": {"ko": "👎 싫어요", "en": "👎 Down"},
    "fbr.rating.up": {"ko": "👍 좋아요", "en": "👍 Up"},
    "fbr.with_comment": {"ko": "의견이 있는 것만", "en": "With a comment only"},
    "fbr.count": {"ko": "{total}건", "en": "{total} rated answers"},
    "fbr.none": {"ko": "평가된 답변이 없습니다.", "en": "No rated answers."},
    "fbr.question": {"ko": "질문", "en": "Question"},
    "fbr.answer": {"ko": "답변", "en": "Answer"},
    "fbr.comment": {"ko": "의견", "en": "Comment"},
    "fbr.sources": {"ko": "출처", "en": "Sources"},
    "fbr.evidence": {"ko": "근거", "en": "Evidence"},
    "fbr.by": {"ko": "{user} · {at}", "en": "{user} · {at}"},
    "fbr.promoted": {"ko": "골든 항목으로 만들어졌습니다.", "en": "Already a golden item."},
    "fbr.correct_answer": {
        "ko": "올바른 정답 (👍는 비워 두면 이 답변을 씁니다)",
        "en": "Correct answer (for 👍, empty uses this answer)",
    },
    "fbr.groups": {"ko": "그룹 (비우면 관리자만)", "en": "Groups (none: admins only)"},
    "fbr.make": {"ko": "골든 항목 만들기", "en": "Make a golden item"},
    "fbr.made": {"ko": "골든 항목을 만들었습니다.", "en": "Golden item created."},
    "fbr.status": {"ko": "상태", "en": "Status"},
    "fbr.col.answers": {"ko": "정답", "en": "Answers"},
    "fbr.col.files": {"ko": "문서", "en": "Documents"},
    "fbr.col.version": {"ko": "버전", "en": "Version"},
    "fbr.no_golden": {"ko": "골든 항목이 없습니다.", "en": "No golden items."},
    "fbr.retire_choose": {"ko": "폐기할 항목", "en": "Item to retire"},
    "fbr.retire": {"ko": "폐기", "en": "Retire"},
    "fbr.retired": {"ko": "항목을 폐기했습니다.", "en": "Item retired."},
    "fbr.export": {"ko": "JSONL 내보내기", "en": "Export JSONL"},
    "nav.feedback": {"ko": "피드백 검토", "en": "Feedback review"},
    # --- dashboard ---
    "dash.title": {"ko": "대시보드", "en": "Dashboard"},
    "dash.period": {"ko": "기간", "en": "Period"},
    "dash.days": {"ko": "최근 {days}일", "en": "Last {days} days"},
    "dash.questions": {"ko": "질문 수", "en": "Questions"},
    "dash.latency_p50": {"ko": "답변 시간 (중앙값)", "en": "Answer time (median)"},
    "dash.latency_p95": {"ko": "답변 시간 (p95)", "en": "Answer time (p95)"},
    "dash.down_rate": {"ko": "부정 평가 비율", "en": "Thumbs-down rate"},
    "dash.feedback_counts": {
        "ko": "좋아요 {up}건 · 싫어요 {down}건",
        "en": "{up} thumbs up · {down} thumbs down",
    },
    "dash.per_day": {"ko": "일별 질문 수", "en": "Questions per day"},
    "dash.day": {"ko": "날짜", "en": "Day"},
    "dash.no_questions": {"ko": "이 기간에는 질문이 없습니다.", "en": "No questions in this period."},
    "dash.most_cited": {"ko": "가장 많이 인용된 문서", "en": "Most cited documents"},
    "dash.citations": {"ko": "인용 수", "en": "Citations"},
    "dash.nothing_cited": {"ko": "아직 인용된 문서가 없습니다.", "en": "Nothing has been cited yet."},
    "dash.never_cited": {"ko": "한 번도 인용되지 않은 문서", "en": "Never cited"},
    "dash.all_cited": {"ko": "모든 문서가 인용되었습니다.", "en": "Every document has been cited."},
    "dash.unanswered": {"ko": "답하지 못한 질문", "en": "Unanswered questions"},
    "dash.unanswered_help": {
        "ko": "문서에서 근거를 찾지 못한 질문입니다. 빠진 문서를 찾는 데 참고하세요.",
        "en": "Questions no document could ground: a guide to the documents that are missing.",
    },
    "dash.none_unanswered": {"ko": "답하지 못한 질문이 없습니다.", "en": "No unanswered questions."},
    "dash.question": {"ko": "질문", "en": "Question"},
    "dash.asked_at": {"ko": "질문 시각", "en": "Asked at"},
    # --- evaluation ---
    "eval.title": {"ko": "검색 품질 평가", "en": "Retrieval evaluation"},
    "eval.help": {
        "ko": "설정된 질문 세트(기본: 함께 제공되는 개발용 질문 세트)로 현재 색인의 검색·답변 품질을 잽니다. "
        "정답 문서가 색인에 없는 질문은 제외됩니다.",
        "en": "Measures the current index on the configured question sets (by default the bundled dev "
        "set). Questions whose gold documents are not indexed are left out.",
    },
    "eval.kind": {"ko": "평가 종류", "en": "What to evaluate"},
    "eval.kind.retrieval": {"ko": "검색 품질", "en": "Retrieval"},
    "eval.kind.answers": {"ko": "답변 품질", "en": "Answers"},
    "eval.kind_help.retrieval": {
        "ko": "질문마다 정답 문서가 몇 번째로 검색되는지 봅니다 (R@k, MRR, nDCG).",
        "en": "Where each question's gold document ranks (R@k, MRR, nDCG).",
    },
    "eval.kind_help.answers": {
        "ko": "답변 세트의 질문에 실제로 답하고 근거 문장, 정답 일치(EM/F1), 출처에 없는 수치 비율을 봅니다.",
        "en": "Answers the answer set through the assistant: evidence hits, EM/F1, unsupported-figure rate.",
    },
    "eval.limit": {"ko": "질문 수 제한 (0 = 전체)", "en": "Question limit (0 = all)"},
    "eval.limit_help": {
        "ko": "앞에서부터 이 수만큼만 평가합니다.",
        "en": "Evaluate only the first N questions.",
    },
    "eval.run": {"ko": "평가 실행", "en": "Run evaluation"},
    "eval.started": {"ko": "평가를 시작했습니다.", "en": "Evaluation started."},
    "eval.running": {"ko": "평가가 진행 중입니다…", "en": "An evaluation is running…"},
    "eval.none": {"ko": "아직 평가 기록이 없습니다.", "en": "No evaluation runs yet."},
    "eval.latest": {"ko": "최근 결과 — {when} (질문 {n}개)", "en": "Latest result — {when} ({n} questions)"},
    "eval.latency": {"ko": "검색 지연 p50 / p95", "en": "Search latency p50 / p95"},
    "eval.left_out": {
        "ko": "전체 {total}개 질문 중 {count}개는 정답 문서가 색인에 없어 제외했습니다.",
        "en": "{count} of {total} questions were left out: their gold documents are not indexed.",
    },
    "eval.history": {"ko": "평가 기록", "en": "History"},
    "eval.col.when": {"ko": "실행 시각", "en": "When"},
    "eval.col.status": {"ko": "상태", "en": "Status"},
    "eval.col.by": {"ko": "실행한 사람", "en": "By"},
    "eval.col.questions": {"ko": "질문 수", "en": "Questions"},
    "eval.status.running": {"ko": "진행 중", "en": "Running"},
    "eval.status.succeeded": {"ko": "완료", "en": "Done"},
    "eval.status.failed": {"ko": "실패", "en": "Failed"},
    "eval.failed": {"ko": "최근 평가가 실패했습니다: {error}", "en": "The latest evaluation failed: {error}"},
    # --- release gate (a tab of the evaluation page) ---
    "eval.kind.gate": {"ko": "릴리스 게이트", "en": "Release gate"},
    "eval.kind_help.gate": {
        "ko": "현재 설정과 후보(다른 모델·어댑터·프롬프트·가중치)를 골든 항목과 개발용 질문 세트로 나란히 "
        "평가합니다. 어떤 지표든 허용치를 넘어 떨어지면 실패입니다.",
        "en": "Evaluates the current configuration and a candidate (another model, adapter, prompt or "
        "weights) side by side on the golden items and the dev set; it fails when any metric drops "
        "beyond tolerance.",
    },
    "gate.candidate": {
        "ko": "후보 설정 (한 줄에 하나, KEY=VALUE)",
        "en": "Candidate settings (KEY=VALUE, one a line)",
    },
    "gate.candidate_help": {
        "ko": "예: llm.model=solar-hr, retrieval.dense_weight=0.7, JIKJI_LLM__ANSWER_MODE=extractive",
        "en": "e.g. llm.model=solar-hr, retrieval.dense_weight=0.7, JIKJI_LLM__ANSWER_MODE=extractive",
    },
    "gate.run": {"ko": "게이트 실행", "en": "Run the gate"},
    "gate.started": {"ko": "게이트 실행을 시작했습니다.", "en": "Gate run started."},
    "gate.running": {"ko": "게이트가 실행 중입니다…", "en": "A gate run is in progress…"},
    "gate.none": {"ko": "아직 게이트 실행 기록이 없습니다.", "en": "No gate runs yet."},
    "gate.latest": {"ko": "최근 게이트 — {when}: {label}", "en": "Latest gate run — {when}: {label}"},
    "gate.answers": {"ko": "답변 지표 (골든 항목)", "en": "Answer metrics (golden items)"},
    "gate.retrieval": {"ko": "검색 지표 — {name}", "en": "Retrieval metrics — {name}"},
    "gate.skipped": {"ko": "건너뜀: {why}", "en": "Skipped: {why}"},
    "gate.worse": {"ko": "나빠진 항목 {n}개", "en": "{n} items got worse"},
    "gate.none_worse": {"ko": "나빠진 항목이 없습니다.", "en": "No item got worse."},
    "gate.history": {
        "ko": "품질 추이 (게이트 실행별 후보 지표)",
        "en": "Quality over time (candidate metrics per run)",
    },
    "gate.col.metric": {"ko": "지표", "en": "Metric"},
    "gate.col.current": {"ko": "현재", "en": "Current"},
    "gate.col.candidate": {"ko": "후보", "en": "Candidate"},
    "gate.col.delta": {"ko": "차이", "en": "Delta"},
    "gate.col.tolerance": {"ko": "허용치", "en": "Tolerance"},
    "gate.col.regressed": {"ko": "허용치 초과 하락", "en": "Dropped beyond tolerance"},
    "gate.col.kind": {"ko": "종류", "en": "Kind"},
    "gate.col.question": {"ko": "질문", "en": "Question"},
    "gate.col.reasons": {"ko": "이유", "en": "Reasons"},
    "gate.col.result": {"ko": "결과", "en": "Result"},
    "gate.col.candidate_label": {"ko": "후보", "en": "Candidate"},
    "gate.col.origin": {"ko": "실행 위치", "en": "Started from"},
    "gate.status.queued": {"ko": "대기", "en": "Queued"},
    "gate.status.running": {"ko": "진행 중", "en": "Running"},
    "gate.status.passed": {"ko": "통과", "en": "Passed"},
    "gate.status.failed": {"ko": "실패", "en": "Failed"},
    "gate.status.error": {"ko": "오류", "en": "Error"},
}


def t(key: str, lang: str = DEFAULT_LANGUAGE, **values: Any) -> str:
    """The message ``key`` in ``lang`` with ``values`` filled in; the key itself when unknown."""
    entry = MESSAGES.get(key)
    if entry is None:
        return key
    text = entry.get(lang) or entry[DEFAULT_LANGUAGE]
    return _FORMATTER.format(text, **values) if values else text


class _ParticleFormatter(string.Formatter):
    """``{name:을}`` is the value followed by 을 or 를, whichever its final sound takes (ui.korean);
    ``{name:~을}`` the particle alone, for a value in quotes: ``「{name}」{name:~으로}``."""

    def format_field(self, value: Any, format_spec: str) -> str:
        if format_spec in PAIRS:
            return with_particle(str(value), format_spec)
        if format_spec.startswith("~") and format_spec[1:] in PAIRS:
            return particle(str(value), format_spec[1:])
        return str(super().format_field(value, format_spec))


_FORMATTER = _ParticleFormatter()
