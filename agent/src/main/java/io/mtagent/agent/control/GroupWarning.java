package io.mtagent.agent.control;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The warning for recovering, exporting or serving one disk of a replication group alone (docs/ARCHITECTURE.md, "Write path" step 6: a machine with
 * several disks is crash-consistent only at group points). Stateless.
 */
final class GroupWarning {
    private GroupWarning() {
    }

    /**
     * The warning for {@code what} ("recovering", "exporting", "serving") disk {@code diskId}, or null when the
     * disk is in no group with other disks.
     *
     * @param groups disk id to group name (the configuration's disk.NAME.group)
     */
    static String of(Map<String, String> groups, String diskId, String what) {
        String group = groups.get(diskId);
        if (group == null) {
            return null;
        }
        List<String> others = new ArrayList<>();
        groups.forEach((id, g) -> {
            if (g.equals(group) && !id.equals(diskId)) {
                others.add(id);
            }
        });
        if (others.isEmpty()) {
            return null;
        }
        others.sort(null);
        return what + " disk " + diskId + " alone: it is one disk of replication group " + group + " (with "
                + String.join(", ", others) + "), and " + RecoveryRequests.GROUP_NOTE + " (--group " + group + ")";
    }
}
