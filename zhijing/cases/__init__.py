"""Case workspace (专案): a case gathers its subjects, saved searches and analyses, pinned
results and notes, and exports a watermarked report. The case is also the purpose every
call in it runs under: closing the case closes the purpose, and with it every access."""
