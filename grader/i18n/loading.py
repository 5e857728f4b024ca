"""Loading a submission (grader/submission.py, grader/static.py, the sandbox's words to a
student): why an upload is refused (``SubmissionError`` reasons), the loader's notes, where in
the notebook a traceback frame is, and the static scan's findings. Keys ``loading.*``.

``loading.noun.*`` are the forms of a counted noun separated by ``|``: English singular|plural,
Russian one|few|many (1 ячейка, 2 ячейки, 5 ячеек); ``grader.submission.count`` picks one."""

MESSAGES: dict[str, dict[str, str]] = {
    "en": {
        # where: a line of the upload, in the student's terms
        "loading.where.line": "line {line}",
        "loading.lms_matched": "{lms} download: {files} (user {user}, matched to the roster's {student})",
        "loading.lms_unmatched": "{lms} download: {files} (user {user}, not in the roster: named after the download)",
        "loading.lms_late": "Canvas marked this submission late; the late policy applies to the roster's "
                            "submitted_at time (without one it counts as on time)",
        "loading.duplicate_folder": "{n} submissions ({others}) get the student folder name {base}; this one is "
                                    "graded as {new}. A TA must decide which one counts.",
        "loading.where.cell": "cell {cell}, line {line}",
        "loading.where.in_func": "{where} in {func}",
        "loading.where.called_from": "; called from {where}",
        "loading.where.more_calls": " (and {n} more calls)",
        "loading.lines": "line {list}|lines {list}",
        "loading.cells": "cell {list}|cells {list}",
        "loading.and_more": "{list} and {n} more",
        "loading.or": "{first} or {last}",
        "loading.noun.cell": "cell|cells",
        "loading.noun.other_file": "other file|other files",
        "loading.noun.get_ipython": "get_ipython() statement|get_ipython() statements",
        "loading.noun.magic": "IPython magic line|IPython magic lines",
        "loading.noun.shell": "shell command (!)|shell commands (!)",
        "loading.noun.help": "help request (?)|help requests (?)",
        "loading.noun.call": "get_ipython() statement|get_ipython() statements",
        # the file itself
        "loading.not_a_file": "{name} is not a regular file.",
        "loading.unreadable": "{name} could not be read ({error}).",
        "loading.too_deep": "{name} is too deeply nested or too large to read.",
        "loading.wrong_type": "{name} has the wrong type: upload a {kinds} file.",
        "loading.too_big": "{name} is {size}; the limit is {limit}.",
        "loading.size_mb": "{n} MB",
        "loading.size_kb": "{n} KB",
        "loading.too_big.outputs": "Outputs are never graded: clear them (Jupyter: Kernel → Restart & Clear Output, "
                                   "or Edit → Clear Outputs of All Cells), save and upload again.",
        "loading.code_too_big": "The code and text of {name} are {size} even without the stored outputs; the limit "
                                "is {limit}.",
        "loading.outputs_not_counted": "{name} is {size} with its stored outputs; outputs are never graded and do "
                                       "not count toward the {limit} limit.",
        "loading.not_utf8": "{name} is not UTF-8 text (byte 0x{byte} on line {line}); save it with UTF-8 encoding.",
        "loading.nul_bytes": "{name} contains NUL bytes; it looks like a binary file, not code.",
        "loading.empty": "{name} is empty.",
        "loading.no_code": "{name} contains no code, only comments.",
        "loading.cannot_parse": "{name} cannot be parsed ({error}).",
        "loading.cannot_compile": "{name} cannot be compiled ({error}).",
        "loading.syntax_error": "{name}: syntax error at {where}: {message}.",
        "loading.indentation_error": "{name}: indentation error at {where}: {message}.",
        "loading.syntax_error.nowhere": "{name}: syntax error: {message}.",
        "loading.indentation_error.nowhere": "{name}: indentation error: {message}.",
        "loading.warning": "warning at {where}: {message}",
        # notes
        "loading.otter_py": "left out otter's own statements ({shapes}) ({where}): they run the notebook's checks "
                            "in Jupyter and are not graded.",
        "loading.otter_ipynb": "left out otter's own statements ({shapes}) in {where}: they run the notebook's "
                               "checks in Jupyter and are not graded.",
        "loading.get_ipython_py": "replaced {count} by pass ({where}).",
        "loading.cell_left_out": "{reason}; it was left out, so the checks that need what it defines fail.",
        "loading.cell_magic": "skipped cell {cell}: it starts with the cell magic {magic}, so none of it was graded "
                              "(remove the magic line if the code is needed).",
        "loading.skip_marked": "skipped {count} marked '# convgrade: skip' ({where}).",
        "loading.dropped": "dropped {count} ({where}).",
        "loading.future_moved": "moved 'from __future__ import {names}' ({where}) to the top of the module.",
        "loading.cell_crashed": "cell {cell} raised `{error}` when run ({where}): line {line} and the rest of cell "
                                "{cell} were left out and everything else was graded, so the checks that need what "
                                "they define fail.",
        # notebook cells
        "loading.cell_syntax_error": "cell {cell} has a syntax error at line {line}: {message}.",
        "loading.cell_indentation_error": "cell {cell} has an indentation error at line {line}: {message}.",
        "loading.cell_syntax_error.nowhere": "cell {cell} has a syntax error: {message}.",
        "loading.cell_indentation_error.nowhere": "cell {cell} has an indentation error: {message}.",
        "loading.cell_cannot_compile": "cell {cell} cannot be compiled ({error}).",
        "loading.cell_cannot_parse": "cell {cell} cannot be parsed ({error}).",
        "loading.cell_nul": "{name}: cell {cell} contains NUL bytes.",
        "loading.no_cell_compiles": "{name}: no code cell compiles; the first: {reason}",
        "loading.no_code_cells": "{name} has no code to grade (no non-empty code cells).",
        # the notebook's JSON
        "loading.json_too_deep": "{name} is not a usable notebook: its JSON nests too deeply (more than {limit} "
                                 "levels).",
        "loading.bad_json": "{name} is not a valid notebook: invalid JSON at line {line}, column {column} ({error}).",
        "loading.not_notebook": "{name} is JSON but not a Jupyter notebook (no cells).",
        "loading.no_nbformat": "{name} is not a Jupyter notebook (no nbformat version).",
        "loading.old_nbformat": "{name} uses the old notebook format {major}; open and save it in a current Jupyter "
                                "(format 4).",
        "loading.new_nbformat": "{name} uses notebook format {major}, which is not supported.",
        "loading.cells_not_list": "{name} is not a valid notebook: 'cells' is not a list.",
        "loading.too_many_cells": "{name} has {n} cells; at most {limit} are accepted.",
        "loading.cell_not_dict": "{name}: cell {cell} is not a notebook cell (the file is damaged; open and save it "
                                 "in Jupyter).",
        "loading.cell_piece": "{name}: cell {cell} is damaged: piece {piece} of its source is {type}, not text (open "
                              "and save it in Jupyter).",
        "loading.cell_source": "{name}: cell {cell} has a malformed source ({type}, not text).",
        "loading.json.bool": "a boolean",
        "loading.json.number": "a number",
        "loading.json.object": "an object",
        "loading.json.list": "a list",
        "loading.json.null": "null",
        "loading.json.other": "not text",
        # zip
        "loading.zip_unreadable": "the upload is not a readable zip file ({error}).",
        "loading.zip_too_many": "the zip holds {n} entries; at most {limit} are accepted (upload only your "
                                "submission file).",
        "loading.zip_unsafe_path": "the zip contains an unsafe path {member} (absolute or with '..'); zip the files "
                                   "without their folders' parents.",
        "loading.zip_symlink": "the zip contains a symbolic link {member}; links are not accepted.",
        "loading.zip_encrypted": "the zip member {member} is encrypted; upload a zip without a password.",
        "loading.zip_twice": "the zip contains {member} twice.",
        "loading.zip_corrupt_header": "the zip member {member} has a corrupt header.",
        "loading.zip_too_large": "the zip unpacks to more than {limit} MB; upload only your submission file.",
        "loading.zip_bomb": "the zip member {member} is compressed more than {ratio}:1, which looks like a zip bomb.",
        "loading.zip_nested": "the zip contains another zip ({member}); upload a single zip with your file in it.",
        "loading.zip_used": "used {member} from the zip; ignored {count} ({names}).",
        "loading.zip_same_name": "the zip contains {n} files named {preferred} ({names}); keep only one.",
        "loading.zip_no_candidate": "the zip contains no {kinds} file to grade.",
        "loading.zip_several": "the zip contains several files that could be the submission ({names}); upload only "
                               "one{hint}.",
        "loading.zip_several.hint": " or name it {names}",
        "loading.zip_damaged": "the zip member {member} is damaged or its header lies about its size ({error}).",
        "loading.zip_size_mismatch": "the zip member {member} is damaged: its header says {size} bytes, it holds a "
                                     "different amount.",
        # the sandbox worker, as the student reads it (grader/sandbox/launcher.py)
        "loading.worker.closed_pipe": "the worker closed its reply pipe",
        "loading.worker.memory": "killed: memory limit of {mb} MB exceeded",
        "loading.worker.not_started": "the worker could not be started",
        "loading.worker.cpu": "killed: CPU time limit of {s} s exceeded",
        "loading.worker.signal": "killed by {name}",
        "loading.worker.segv": " (segmentation fault: e.g. runaway recursion)",
        "loading.worker.sigkill": " (possibly the memory limit)",
        "loading.worker.exit_code": "the worker exited with code {rc}",
        "loading.worker.output_flood": "more than {n} bytes of output",
        "loading.worker.closed": "the session is closed",
        "loading.worker.launch_error": "could not start the worker: {error}",
        "loading.worker.importing": "importing your module",
        "loading.worker.running_check": "running this check",
        "loading.worker.wall": "the session's time limit of {s} s was reached while {what}",
        "loading.worker.timeout": "no answer within {s} s while {what}",
        "loading.worker.dead.not_loaded": "your module could not be loaded",
        "loading.worker.dead.wall": "the session's time limit was used up",
        "loading.worker.dead.restarts": "the worker failed {n} times; no more restarts",
        "loading.worker.dead.restart_import": "your module failed to import on restart",
        "loading.worker.restart_failed": "restarting the worker failed ({status}: {message})",
        # the sandbox's isolation, as listed in the feedback (grader/sandbox/isolation.py)
        "loading.isolation.no_bwrap": "bubblewrap: not used (isolation='process')",
        "loading.isolation.namespaces": "namespaces: `user`, `mount`, `pid`, `network` (no network), `ipc`, `uts`; uid {uid}, no "
                                        "capabilities; read-only /usr and Python; tmpfs /tmp, /dev/shm and home ({mb} MB each)",
        "loading.isolation.hidden_packages": "forbidden packages absent from the sandbox's filesystem: {names}",
        "loading.isolation.forked": "worker forked from a zygote (numpy preloaded, no other submission's bytes; "
                                    "its own cgroup; the sandbox emptied before it)",
        "loading.isolation.weaker_fs": "WEAKER: no filesystem or network isolation — the submission can read every "
                                       "file the grader's user can read and can open network connections",
        "loading.isolation.weaker_imports": "WEAKER: forbidden imports are refused only by an import hook inside the "
                                            "worker; a submission can remove it and import them (the static scan "
                                            "still reports the attempt)",
        "loading.isolation.no_cgroups": "cgroups: not used (use_cgroups=False)",
        "loading.isolation.cgroup": "cgroup v{ver} memory+pids: a cgroup of its own for each worker (`{where}`)",
        "loading.isolation.cgroup_none": "cgroups: neither a v1 memory+pids nor a v2 hierarchy is mounted",
        "loading.isolation.cgroup_unusable": "cgroup v{ver} memory+pids: cannot be used (`{why}`)",
        "loading.isolation.bwrap_unusable": "WEAKER: bubblewrap cannot be used here (`{why}`)",
        "loading.isolation.address_space": "address space {mb} MB",
        "loading.isolation.memory_unlimited": "memory: NOT limited (GPU mode needs a large address space and no "
                                              "cgroup is available)",
        "loading.isolation.nproc_unlimited": "process count: NOT limited (running as root ignores RLIMIT_NPROC and no "
                                             "cgroup is available)",
        "loading.isolation.nproc": "nproc {n} (+ the user's processes)",
        # the static scan (grader/static.py)
        "loading.static.computed_import": "imports a module by a computed name ({where}); only imports the scan can "
                                          "read are allowed in this assignment",
        "loading.static.imports": "imports `{module}` ({where}), which this assignment does not allow",
        "loading.version_differs": "this assignment was released with convgrade {release} and you have {mine}: "
                                   "the grader runs the checks of {release}, so install that version "
                                   "(`pip install convgrade=={release}`) for the same verdicts.",
        "loading.static.not_installed": "your code imports `{module}` ({where}), which is not installed where this "
                                        "assignment is graded: there that import fails and, in a notebook, the rest "
                                        "of its cell is left out. Move it to a `# convgrade: skip` cell, wrap it in "
                                        "`try: ... except ImportError: ...`, or do without it.",
        "loading.static.uses": "uses `{module}` ({where}), which this assignment does not allow",
        "loading.static.loads_saved": "`{name}` loads saved data (weights?) instead of training",
        "loading.static.loads_saved_getattr": "`{name}` (via getattr) loads saved data (weights?) instead of training",
        "loading.static.getattr_computed": "`getattr({base}, <computed name>)` reaches an attribute of `{base}` by a "
                                           "computed name (a loader in disguise?)",
        "loading.static.shortcut": "{finding} ({where}), which this assignment does not allow",
        "loading.static.open_rb": "`open(..., 'rb')` reads a binary file (saved weights?)",
        "loading.static.open_computed": "`open(...)` with a computed mode (reads a binary file?)",
        "loading.static.big_literal": "a literal of {size} characters of data is embedded in the source (weights?)",
        "loading.static.encoded_blob": "{size} characters of encoded data (base64/hex) are embedded in the source "
                                       "(weights?)",
    },
    "ru": {
        "loading.where.line": "строка {line}",
        "loading.lms_matched": "выгрузка {lms}: {files} (пользователь {user}, в списке группы — {student})",
        "loading.lms_unmatched": "выгрузка {lms}: {files} (пользователь {user}, в списке группы не найден: имя "
                                 "взято из выгрузки)",
        "loading.lms_late": "Canvas отметил эту работу как сданную с опозданием; штраф за опоздание считается по "
                            "времени submitted_at из списка группы (без него работа считается сданной вовремя)",
        "loading.duplicate_folder": "{n} работ(ы) ({others}) получают одну папку студента {base}; эта проверяется "
                                    "как {new}. Какая из них засчитывается, решает ассистент.",
        "loading.where.cell": "ячейка {cell}, строка {line}",
        "loading.where.in_func": "{where} в {func}",
        "loading.where.called_from": "; вызвано из: {where}",
        "loading.where.more_calls": " (и ещё вызовов: {n})",
        "loading.lines": "строка {list}|строки {list}",
        "loading.cells": "ячейка {list}|ячейки {list}",
        "loading.and_more": "{list} и ещё {n}",
        "loading.or": "{first} или {last}",
        "loading.noun.cell": "ячейка|ячейки|ячеек",
        "loading.noun.other_file": "другой файл|других файла|других файлов",
        "loading.noun.get_ipython": "инструкция get_ipython()|инструкции get_ipython()|инструкций get_ipython()",
        "loading.noun.magic": "строка магической команды IPython|строки магических команд IPython|строк магических "
                              "команд IPython",
        "loading.noun.shell": "команда оболочки (!)|команды оболочки (!)|команд оболочки (!)",
        "loading.noun.help": "запрос справки (?)|запроса справки (?)|запросов справки (?)",
        "loading.noun.call": "инструкция get_ipython()|инструкции get_ipython()|инструкций get_ipython()",
        "loading.not_a_file": "{name} — не обычный файл.",
        "loading.unreadable": "{name} не удалось прочитать ({error}).",
        "loading.too_deep": "{name}: слишком глубокая вложенность или слишком большой размер, файл не прочитать.",
        "loading.wrong_type": "{name} — файл не того типа: загрузите файл {kinds}.",
        "loading.too_big": "{name} занимает {size}; предел — {limit}.",
        "loading.size_mb": "{n} МБ",
        "loading.size_kb": "{n} КБ",
        "loading.too_big.outputs": "Выводы ячеек никогда не оцениваются: очистите их (в Jupyter: Kernel → Restart & "
                                   "Clear Output или Edit → Clear Outputs of All Cells), сохраните и загрузите файл "
                                   "снова.",
        "loading.code_too_big": "Код и текст {name} занимают {size} даже без сохранённых выводов; предел — {limit}.",
        "loading.outputs_not_counted": "{name} вместе с сохранёнными выводами занимает {size}; выводы не оцениваются "
                                       "и в предел {limit} не входят.",
        "loading.not_utf8": "{name} — не текст в UTF-8 (байт 0x{byte} в строке {line}); сохраните файл в кодировке "
                            "UTF-8.",
        "loading.nul_bytes": "{name} содержит байты NUL; похоже, это двоичный файл, а не код.",
        "loading.empty": "{name} пуст.",
        "loading.no_code": "{name} не содержит кода, только комментарии.",
        "loading.cannot_parse": "{name} не удаётся разобрать ({error}).",
        "loading.cannot_compile": "{name} не удаётся скомпилировать ({error}).",
        "loading.syntax_error": "{name}: синтаксическая ошибка ({where}): {message}.",
        "loading.indentation_error": "{name}: ошибка отступов ({where}): {message}.",
        "loading.syntax_error.nowhere": "{name}: синтаксическая ошибка: {message}.",
        "loading.indentation_error.nowhere": "{name}: ошибка отступов: {message}.",
        "loading.warning": "предупреждение ({where}): {message}",
        "loading.otter_py": "пропущены собственные инструкции otter ({shapes}; {where}): они запускают проверки "
                            "ноутбука в Jupyter и не оцениваются.",
        "loading.otter_ipynb": "пропущены собственные инструкции otter ({shapes}; {where}): они запускают проверки "
                               "ноутбука в Jupyter и не оцениваются.",
        "loading.get_ipython_py": "заменено на pass: {count} ({where}).",
        "loading.cell_left_out": "{reason}; ячейка пропущена, поэтому проверки, которым нужно то, что в ней "
                                 "определено, не проходят.",
        "loading.cell_magic": "ячейка {cell} пропущена: она начинается с магической команды ячейки {magic}, поэтому "
                              "ничего из неё не оценено (удалите строку с магической командой, если этот код нужен).",
        "loading.skip_marked": "пропущено с пометкой '# convgrade: skip': {count} ({where}).",
        "loading.dropped": "пропущено: {count} ({where}).",
        "loading.future_moved": "'from __future__ import {names}' ({where}) перенесено в начало модуля.",
        "loading.cell_crashed": "ячейка {cell} при выполнении выбросила `{error}` ({where}): строка {line} и "
                                "остаток ячейки {cell} пропущены, всё остальное оценено, поэтому проверки, которым "
                                "нужно то, что там определено, не проходят.",
        "loading.cell_syntax_error": "в ячейке {cell} синтаксическая ошибка в строке {line}: {message}.",
        "loading.cell_indentation_error": "в ячейке {cell} ошибка отступов в строке {line}: {message}.",
        "loading.cell_syntax_error.nowhere": "в ячейке {cell} синтаксическая ошибка: {message}.",
        "loading.cell_indentation_error.nowhere": "в ячейке {cell} ошибка отступов: {message}.",
        "loading.cell_cannot_compile": "ячейку {cell} не удаётся скомпилировать ({error}).",
        "loading.cell_cannot_parse": "ячейку {cell} не удаётся разобрать ({error}).",
        "loading.cell_nul": "{name}: ячейка {cell} содержит байты NUL.",
        "loading.no_cell_compiles": "{name}: ни одна ячейка с кодом не компилируется; первая ошибка: {reason}",
        "loading.no_code_cells": "{name}: нечего оценивать (нет непустых ячеек с кодом).",
        "loading.json_too_deep": "{name} — непригодный ноутбук: его JSON вложен слишком глубоко (больше {limit} "
                                 "уровней).",
        "loading.bad_json": "{name} — повреждённый ноутбук: неверный JSON в строке {line}, столбце {column} ({error}).",
        "loading.not_notebook": "{name} — JSON, но не ноутбук Jupyter (нет ячеек).",
        "loading.no_nbformat": "{name} — не ноутбук Jupyter (нет версии nbformat).",
        "loading.old_nbformat": "{name} в старом формате ноутбука {major}; откройте и сохраните его в современном "
                                "Jupyter (формат 4).",
        "loading.new_nbformat": "{name} в формате ноутбука {major}, который не поддерживается.",
        "loading.cells_not_list": "{name} — повреждённый ноутбук: 'cells' — не список.",
        "loading.too_many_cells": "В {name} ячеек: {n}; допускается не больше {limit}.",
        "loading.cell_not_dict": "{name}: ячейка {cell} — не ячейка ноутбука (файл повреждён; откройте и сохраните "
                                 "его в Jupyter).",
        "loading.cell_piece": "{name}: ячейка {cell} повреждена: часть {piece} её исходного кода — {type}, а не "
                              "текст (откройте и сохраните файл в Jupyter).",
        "loading.cell_source": "{name}: у ячейки {cell} повреждён исходный код ({type}, а не текст).",
        "loading.json.bool": "логическое значение",
        "loading.json.number": "число",
        "loading.json.object": "объект",
        "loading.json.list": "список",
        "loading.json.null": "значение null",
        "loading.json.other": "не текст",
        "loading.zip_unreadable": "загруженный файл — не читаемый zip-архив ({error}).",
        "loading.zip_too_many": "в zip-архиве записей: {n}; допускается не больше {limit} (загрузите только файл с "
                                "решением).",
        "loading.zip_unsafe_path": "в zip-архиве небезопасный путь {member} (абсолютный или с '..'); упакуйте файлы "
                                   "без родительских папок.",
        "loading.zip_symlink": "в zip-архиве символическая ссылка {member}; ссылки не принимаются.",
        "loading.zip_encrypted": "файл {member} в zip-архиве зашифрован; загрузите архив без пароля.",
        "loading.zip_twice": "в zip-архиве дважды встречается {member}.",
        "loading.zip_corrupt_header": "у файла {member} в zip-архиве повреждён заголовок.",
        "loading.zip_too_large": "zip-архив распаковывается больше чем в {limit} МБ; загрузите только файл с "
                                 "решением.",
        "loading.zip_bomb": "файл {member} в zip-архиве сжат сильнее чем {ratio}:1 — похоже на zip-бомбу.",
        "loading.zip_nested": "в zip-архиве есть другой zip-архив ({member}); загрузите один архив с вашим файлом "
                              "внутри.",
        "loading.zip_used": "из zip-архива взят {member}; проигнорировано: {count} ({names}).",
        "loading.zip_same_name": "в zip-архиве несколько файлов с именем {preferred} ({n}: {names}); оставьте один.",
        "loading.zip_no_candidate": "в zip-архиве нет файла {kinds} для оценки.",
        "loading.zip_several": "в zip-архиве несколько файлов, которые могут быть решением ({names}); загрузите только "
                               "один{hint}.",
        "loading.zip_several.hint": " или назовите его {names}",
        "loading.zip_damaged": "файл {member} в zip-архиве повреждён, или его заголовок указывает неверный размер "
                               "({error}).",
        "loading.zip_size_mismatch": "файл {member} в zip-архиве повреждён: по заголовку в нём {size} байт, а на деле "
                                     "другое количество.",
        "loading.worker.closed_pipe": "процесс проверки закрыл канал ответа",
        "loading.worker.memory": "остановлено: превышен предел памяти {mb} МБ",
        "loading.worker.not_started": "процесс проверки не удалось запустить",
        "loading.worker.cpu": "остановлено: превышен предел процессорного времени {s} с",
        "loading.worker.signal": "остановлено сигналом {name}",
        "loading.worker.segv": " (ошибка сегментации: например, бесконечная рекурсия)",
        "loading.worker.sigkill": " (возможно, предел памяти)",
        "loading.worker.exit_code": "процесс проверки завершился с кодом {rc}",
        "loading.worker.output_flood": "больше {n} байт вывода",
        "loading.worker.closed": "сеанс закрыт",
        "loading.worker.launch_error": "не удалось запустить процесс проверки: {error}",
        "loading.worker.importing": "при импорте вашего модуля",
        "loading.worker.running_check": "при выполнении этой проверки",
        "loading.worker.wall": "исчерпан предел времени сеанса {s} с {what}",
        "loading.worker.timeout": "нет ответа за {s} с {what}",
        "loading.worker.dead.not_loaded": "ваш модуль не удалось загрузить",
        "loading.worker.dead.wall": "предел времени сеанса исчерпан",
        "loading.worker.dead.restarts": "процесс проверки упал {n} раз(а); больше перезапусков не будет",
        "loading.worker.dead.restart_import": "ваш модуль не импортировался при перезапуске",
        "loading.worker.restart_failed": "перезапуск процесса проверки не удался ({status}: {message})",
        "loading.isolation.no_bwrap": "bubblewrap: не используется (isolation='process')",
        "loading.isolation.namespaces": "пространства имён: `user`, `mount`, `pid`, `network` (без сети), `ipc`, `uts`; uid {uid}, "
                                        "без capabilities; /usr и Python только для чтения; tmpfs в /tmp, /dev/shm и "
                                        "домашнем каталоге (по {mb} МБ)",
        "loading.isolation.hidden_packages": "запрещённых пакетов нет в файловой системе песочницы: {names}",
        "loading.isolation.forked": "процесс проверки порождён fork от зиготы (numpy уже загружен, байтов других "
                                    "работ нет; своя cgroup; песочница очищена перед ним)",
        "loading.isolation.weaker_fs": "СЛАБЕЕ: нет изоляции файловой системы и сети — решение может читать любой "
                                       "файл, доступный пользователю проверяющей системы, и открывать сетевые "
                                       "соединения",
        "loading.isolation.weaker_imports": "СЛАБЕЕ: запрещённые импорты отклоняет только перехватчик импорта внутри "
                                            "процесса проверки; решение может убрать его и импортировать их "
                                            "(статическая проверка всё равно сообщит о попытке)",
        "loading.isolation.no_cgroups": "cgroups: не используются (use_cgroups=False)",
        "loading.isolation.cgroup": "cgroup v{ver} memory+pids: у каждого процесса-исполнителя своя cgroup (`{where}`)",
        "loading.isolation.cgroup_none": "cgroups: не смонтирована ни иерархия v1 memory+pids, ни v2",
        "loading.isolation.cgroup_unusable": "cgroup v{ver} memory+pids: использовать нельзя (`{why}`)",
        "loading.isolation.bwrap_unusable": "СЛАБЕЕ: bubblewrap здесь использовать нельзя (`{why}`)",
        "loading.isolation.address_space": "адресное пространство {mb} МБ",
        "loading.isolation.memory_unlimited": "память: НЕ ограничена (режиму GPU нужно большое адресное пространство, "
                                              "а cgroup недоступна)",
        "loading.isolation.nproc_unlimited": "число процессов: НЕ ограничено (при запуске от root RLIMIT_NPROC не "
                                             "действует, а cgroup недоступна)",
        "loading.isolation.nproc": "nproc {n} (+ процессы пользователя)",
        "loading.static.computed_import": "импортирует модуль по вычисляемому имени ({where}); в этом задании "
                                          "разрешены только импорты, имя модуля в которых видно из кода",
        "loading.static.imports": "импортирует `{module}` ({where}), что в этом задании запрещено",
        "loading.version_differs": "задание выпущено с convgrade {release}, а у вас {mine}: грейдер запускает "
                                   "проверки версии {release}, поэтому установите её "
                                   "(`pip install convgrade=={release}`), чтобы вердикты совпадали.",
        "loading.static.not_installed": "ваш код импортирует `{module}` ({where}), а там, где проверяют это "
                                        "задание, этого пакета нет: там этот импорт не удастся, и в ноутбуке остаток "
                                        "его ячейки не будет выполнен. Перенесите его в ячейку `# convgrade: skip`, оберните в "
                                        "`try: ... except ImportError: ...` или обойдитесь без него.",
        "loading.static.uses": "использует `{module}` ({where}), что в этом задании запрещено",
        "loading.static.loads_saved": "`{name}` загружает сохранённые данные (веса?) вместо обучения",
        "loading.static.loads_saved_getattr": "`{name}` (через getattr) загружает сохранённые данные (веса?) вместо "
                                              "обучения",
        "loading.static.getattr_computed": "`getattr({base}, <вычисляемое имя>)` обращается к атрибуту `{base}` по "
                                           "вычисляемому имени (замаскированная загрузка?)",
        "loading.static.shortcut": "{finding} ({where}), что в этом задании запрещено",
        "loading.static.open_rb": "`open(..., 'rb')` читает двоичный файл (сохранённые веса?)",
        "loading.static.open_computed": "`open(...)` с вычисляемым режимом (чтение двоичного файла?)",
        "loading.static.big_literal": "в исходный код встроен литерал данных длиной {size} символов (веса?)",
        "loading.static.encoded_blob": "в исходный код встроено {size} символов закодированных данных (base64/hex) "
                                       "(веса?)",
    },
}
