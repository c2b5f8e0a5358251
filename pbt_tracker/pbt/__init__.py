"""IsaacGymEnvs' PBT files, read as IsaacGymEnvs writes them: iteration files, the workspace, lineage,
stalls, the history copied into the record, and the command that resumes a policy from its checkpoint.

Nothing here talks to a scheduler: a backend asks these modules what a policy's next attempt runs.
"""
