"""`pbt-track plot`: the PBT history read from the record (`record`), shaped into series and marks of the
kinds `kinds` names (`data`), and drawn with matplotlib, an optional extra imported only here (`draw`).
"""
