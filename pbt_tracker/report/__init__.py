"""What pbt-track shows of a record: `report`'s rows and tables, the PBT view, `show`'s detail of one
experiment, `logs`, and the keeper's lines. Read-only: a report syncs first through `tracker`, never here.
"""
